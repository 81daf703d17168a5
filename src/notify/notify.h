/*
 * notify — the Alertmanager's notifiers ("integrations"): they turn one
 * aggregation group's notification into the request a receiver expects.
 *
 * What it does: lists a receiver's integrations in Alertmanager's order,
 * loads the notification templates (vigil's own default templates, which
 * define the names Alertmanager's default.tmpl and email.tmpl define and
 * render the same text, plus the configuration's `templates` globs), and
 * sends one notification over one integration exactly as Alertmanager
 * v0.25 builds it: webhook (JSON message version 4), Slack (incoming
 * webhook), PagerDuty (Events API v2, and v1 for service_key), e-mail over
 * SMTP (libcurl) and OpsGenie (Alert API v2). The other receiver types are
 * recognised and answer "not supported". It also keeps Alertmanager's
 * notification counters and latency histogram.
 *
 * What it owns: a notify_templates_t owns its parsed template sets and a
 * cache of the configuration's template strings parsed into them. The
 * metrics are process-wide (the only mutable globals of the module).
 * notify_send owns nothing past its return: it borrows the integration,
 * the configuration, the templates and the data.
 *
 * Threads: notify_send, notify_metrics_* and template execution may run on
 * any number of threads at once (the dispatcher's notification workers).
 * A notify_templates_t is shared read-mostly: its cache takes a write lock
 * only the first time a template string is seen. httpc_global_init must
 * have run before the first notify_send.
 */
#ifndef VG_NOTIFY_H
#define VG_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"
#include "core/core.h"
#include "expfmt/expfmt.h"
#include "template/template.h"

/* What vigil's notifiers send as User-Agent (Alertmanager sends
 * "Alertmanager/<version>"). */
#define NOTIFY_USER_AGENT "vigil/0.1.0"

/* Every receiver type of alert_receiver_t. The first five are implemented. */
typedef enum notify_kind {
    NOTIFY_WEBHOOK = 0,
    NOTIFY_SLACK,
    NOTIFY_PAGERDUTY,
    NOTIFY_EMAIL,
    NOTIFY_OPSGENIE,
    NOTIFY_WECHAT,
    NOTIFY_VICTOROPS,
    NOTIFY_PUSHOVER,
    NOTIFY_SNS,
    NOTIFY_TELEGRAM,
    NOTIFY_DISCORD,
    NOTIFY_WEBEX,
    NOTIFY_MSTEAMS,
    NOTIFY_MSTEAMSV2,
    NOTIFY_JIRA,
    NOTIFY_INCIDENTIO,
    NOTIFY_ROCKETCHAT,
    NOTIFY_MATTERMOST,
    NOTIFY_KIND_COUNT
} notify_kind_t;

/* One integration of a receiver. Everything is borrowed from the
 * configuration, which must outlive it. */
typedef struct notify_integration {
    notify_kind_t kind;
    const char *name; /* Alertmanager's integration name: "webhook", "slack", "email"... */
    unsigned idx;     /* position among the receiver's integrations of the same kind */
    bool send_resolved;
    const void *conf; /* alert_webhook_config_t * etc. */
} notify_integration_t;

/* The integration name of a kind ("webhook", "msteamsv2"...). */
const char *notify_kind_name(notify_kind_t kind);
/* Whether vigil can send over this kind. */
bool notify_kind_supported(notify_kind_t kind);

/* Lists r's integrations in Alertmanager's order (its
 * BuildReceiverIntegrations: webhook, email, pagerduty, opsgenie, wechat,
 * slack, victorops, pushover, sns, telegram, discord, webex, msteams,
 * msteamsv2, jira, incidentio, rocketchat, mattermost; each kind in file
 * order). Writes up to cap entries and returns how many there are in all. */
size_t notify_integrations(const alert_receiver_t *r, notify_integration_t *out, size_t cap);

/* Appends "<name>[<idx>]", as Alertmanager's Integration.String() names an
 * integration in its logs ("webhook[0]"). */
void notify_integration_format(const notify_integration_t *in, vg_buf_t *out);

/* ------------------------------------------------------------ templates */

typedef struct notify_templates notify_templates_t;

/* Limits on template files named by the configuration's globs. */
#define NOTIFY_TEMPLATE_MAX_FILE_BYTES (4u * 1024 * 1024)
#define NOTIFY_TEMPLATE_MAX_FILES 1000u

/* Loads vigil's default notification templates and then every file that
 * cfg->templates' globs match, each glob's files in sorted order (later
 * definitions of a name win, as Alertmanager's FromGlobs); a glob that
 * matches nothing is fine. cfg may be NULL (defaults only). Returns a new
 * set (the caller frees it) or NULL with err ("template: x.tmpl:3: ..."). */
notify_templates_t *notify_templates_load(const alert_config_t *cfg, vg_err_t *err);
void notify_templates_free(notify_templates_t *t);

/* Alertmanager's ExecuteTextString / ExecuteHTMLString: text is parsed as
 * a template of its own that sees every loaded definition, and executed
 * with data as dot (missingkey=zero). "" gives "". Appends to out; returns
 * 0 or a negative code with Go's message in err. Borrows everything. */
int notify_template_execute(const notify_templates_t *t, const char *text, bool html,
                            const template_am_data_t *data, vg_buf_t *out, vg_err_t *err);

/* vigil's default templates (the text parsed before the configuration's
 * files): Alertmanager's template names with vigil's own text. */
extern const char notify_default_templates[];

/* ----------------------------------------------------------------- data */

/* Alertmanager's template.Data puts regexp.QuoteMeta(receiver name) in
 * .Receiver: appends that form of name. */
void notify_quote_receiver(const char *name, vg_buf_t *out);

/* Builds the data of a subset of src's alerts, as Alertmanager rebuilds
 * template.Data from the alerts it sends: the first max_alerts alerts (0:
 * all) and, with firing_only, only the firing ones (what RetryStage sends
 * when send_resolved is false). status, common_labels and
 * common_annotations are computed again; the rest is copied. *owned
 * receives memory the caller frees with free() after using out (out's
 * pointers also borrow from src). Returns how many alerts were left out by
 * max_alerts (Alertmanager's truncatedAlerts). */
uint64_t notify_data_subset(const template_am_data_t *src, uint64_t max_alerts, bool firing_only,
                            template_am_data_t *out, void **owned);

/* ------------------------------------------------------------------ send */

/* Sends one notification for one aggregation group over one integration.
 * data: the template data (receiver, status, alerts, groupLabels,
 * commonLabels, commonAnnotations, externalURL) of the alerts to send (the
 * caller leaves resolved alerts out when in->send_resolved is false;
 * notify_data_subset does that); a firing alert's ends_at is a nil value
 * (Go's zero time). group_key: the aggregation group key
 * ("{}/{a=\"b\"}:{alertname=\"X\"}"). timeout_ms bounds the whole send (0:
 * 10 s); an integration's own `timeout` shortens it. Returns 0 when
 * delivered; else a negative code with err holding the message Alertmanager
 * would log and *retry telling whether trying again may help (network
 * errors and 5xx retry; so do 429 for OpsGenie and PagerDuty v2, 403 for
 * PagerDuty v1; other 4xx and template errors do not). */
int notify_send(const notify_integration_t *in, const alert_config_t *cfg,
                const notify_templates_t *tmpl, const template_am_data_t *data,
                const char *group_key, int64_t timeout_ms, bool *retry, vg_err_t *err);

/* ---------------------------------------------------------------- metrics */

/* One delivery attempt (Alertmanager's notification request): counts
 * alertmanager_notification_requests_total, _failed_total when failed, and
 * observes alertmanager_notification_latency_seconds, all labelled
 * {integration="<name>"}. Call after each notify_send. */
void notify_metrics_observe(const char *integration, double seconds, bool failed);
/* One notification (all attempts of it, Alertmanager's RetryStage):
 * alertmanager_notifications_total and, when it finally failed,
 * alertmanager_notifications_failed_total. */
void notify_metrics_notification(const char *integration, bool failed);
/* Writes the five families with Alertmanager 0.25's names, help texts,
 * buckets (1, 5, 10, 15, 20 s) and pre-created integration labels. */
void notify_metrics_write(expfmt_writer_t *w);
/* Zeroes every counter (for tests). */
void notify_metrics_reset(void);

#endif
