/* This file implements the Alertmanager API v2 endpoints for alerts, alert
 * groups, receivers and status. */
#include "web/web_int.h"

const web_route_t web_am_routes[] = {
    {NULL, false, 0, NULL, NULL, NULL},
};
