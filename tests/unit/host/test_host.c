/* Tests of the host collectors against the fixture trees in fixtures/
 * (exact lines as node_exporter 1.5 writes them), the failure path, the
 * collector and option switches, the CPU never-backwards rule, each family
 * written once, OpenMetrics units, concurrent scrapes, and a scrape of the
 * real machine (written to $HOST_DUMP_FILE when set, for the integration
 * test that compares it with node_exporter). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/host.h"

#define FIX VG_SOURCE_DIR "/tests/unit/host/fixtures"

static char *collect(host_t *h, expfmt_format_t fmt) {
    vg_buf_t b = VG_BUF_INIT;
    vg_buf_putc(&b, '\n'); /* so that every line, the first too, follows a '\n' */
    expfmt_writer_t w;
    expfmt_writer_init(&w, &b, fmt);
    host_collect(h, &w);
    expfmt_writer_finish(&w);
    return vg_buf_detach(&b);
}

static bool has_line(const char *out, const char *line) {
    size_t n = strlen(line);
    for (const char *p = out; (p = strstr(p, line)) != NULL; p++)
        if (p > out && p[-1] == '\n' && p[n] == '\n') return true;
    return false;
}

#define ASSERT_LINE(out, line)                                                                     \
    do {                                                                                           \
        if (!has_line(out, line)) fail_msg("missing line: %s", line);                              \
    } while (0)
#define ASSERT_NO(out, text)                                                                       \
    do {                                                                                           \
        if (strstr(out, text)) fail_msg("unexpected text: %s", text);                              \
    } while (0)

static host_t *fixture_host(void) {
    vg_err_t err = {0};
    host_t *h = host_new(FIX "/proc", FIX "/sys", FIX "/rootfs", &err);
    if (!h) fail_msg("host_new: %s", err.msg);
    return h;
}

static void test_cpu_and_stat(void **state) {
    (void)state;
    host_t *h = fixture_host();
    char *out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.");
    ASSERT_LINE(out, "# TYPE node_cpu_seconds_total counter");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 21735");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 217.35");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"iowait\"} 0.04");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"1\",mode=\"system\"} 116.4");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"1\",mode=\"steal\"} 0.28");
    ASSERT_LINE(out, "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"user\"} 1.5");
    ASSERT_LINE(out, "node_cpu_guest_seconds_total{cpu=\"0\",mode=\"nice\"} 0.05");
    ASSERT_NO(out, "cpu=\"\""); /* the aggregate "cpu" line is not a CPU */
    ASSERT_LINE(out, "node_cpu_core_throttles_total{core=\"0\",package=\"0\"} 7");
    ASSERT_LINE(out, "node_cpu_package_throttles_total{package=\"0\"} 9");
    ASSERT_LINE(out, "node_cpu_isolated{cpu=\"1\"} 1");

    ASSERT_LINE(out, "# HELP node_boot_time_seconds Node boot time, in unixtime.");
    ASSERT_LINE(out, "node_boot_time_seconds 1.795308312e+09");
    ASSERT_LINE(out, "node_context_switches_total 272231");
    ASSERT_LINE(out, "node_intr_total 117343");
    ASSERT_LINE(out, "node_forks_total 4570");
    ASSERT_LINE(out, "node_procs_running 2");
    ASSERT_LINE(out, "node_procs_blocked 1");
    free(out);
    host_free(h);
}

static void test_memory(void **state) {
    (void)state;
    host_t *h = fixture_host();
    char *out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(
        out, "# HELP node_memory_MemAvailable_bytes Memory information field MemAvailable_bytes.");
    ASSERT_LINE(out, "# TYPE node_memory_MemAvailable_bytes gauge");
    ASSERT_LINE(out, "node_memory_MemAvailable_bytes 2.4920395776e+10");
    ASSERT_LINE(out, "node_memory_Active_anon_bytes 1.589248e+06");
    ASSERT_LINE(out, "node_memory_Inactive_file_bytes 1.96399104e+08");
    ASSERT_LINE(out, "node_memory_Committed_AS_bytes 1.65728256e+08");
    ASSERT_LINE(out, "node_memory_VmallocTotal_bytes 3.5184372087808e+13");
    ASSERT_LINE(out, "node_memory_HugePages_Total 0");
    ASSERT_LINE(out, "node_memory_Hugepagesize_bytes 2.097152e+06");

    ASSERT_LINE(out, "# HELP node_vmstat_pgfault /proc/vmstat information field pgfault.");
    ASSERT_LINE(out, "# TYPE node_vmstat_pgfault untyped");
    ASSERT_LINE(out, "node_vmstat_pgfault 1.433811e+06");
    ASSERT_LINE(out, "node_vmstat_pgmajfault 898");
    ASSERT_LINE(out, "node_vmstat_pgpgout 644612");
    ASSERT_LINE(out, "node_vmstat_oom_kill 0");
    ASSERT_NO(out, "node_vmstat_nr_free_pages");
    ASSERT_NO(out, "node_vmstat_pgalloc_normal");

    ASSERT_LINE(out, "node_load1 0.02");
    ASSERT_LINE(out, "node_load5 0.05");
    ASSERT_LINE(out, "node_load15 0.01");
    ASSERT_LINE(out, "# HELP node_load15 15m load average.");

    ASSERT_LINE(out, "node_pressure_cpu_waiting_seconds_total 4.326452000000001");
    ASSERT_LINE(out, "node_pressure_io_waiting_seconds_total 2.147217");
    ASSERT_LINE(out, "node_pressure_io_stalled_seconds_total 2.049688");
    ASSERT_LINE(out, "node_pressure_memory_waiting_seconds_total 1.5");
    ASSERT_LINE(out, "node_pressure_memory_stalled_seconds_total 0.5");

    ASSERT_LINE(out, "node_filefd_allocated 494");
    ASSERT_LINE(out, "node_filefd_maximum 2.466177e+06");
    free(out);
    host_free(h);
}

static void test_disk(void **state) {
    (void)state;
    host_t *h = fixture_host();
    char *out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_disk_reads_completed_total{device=\"sda\"} 28262");
    ASSERT_LINE(out, "node_disk_read_bytes_total{device=\"sda\"} 1.220166144e+09");
    ASSERT_LINE(out, "node_disk_read_time_seconds_total{device=\"sda\"} 5.621");
    ASSERT_LINE(out, "node_disk_written_bytes_total{device=\"sda\"} 6.60082688e+08");
    ASSERT_LINE(out, "node_disk_io_time_weighted_seconds_total{device=\"sda\"} 9.414");
    ASSERT_LINE(out, "node_disk_discarded_sectors_total{device=\"sda\"} 118008");
    ASSERT_LINE(out, "node_disk_flush_requests_time_seconds_total{device=\"sda\"} 0.032");
    ASSERT_LINE(out,
                "node_disk_info{device=\"sda\",major=\"8\",minor=\"0\",model=\"QEMU_HARDDISK\","
                "path=\"pci-0000:00:01.1-ata-1\",revision=\"2.5+\",serial=\"QM00001\","
                "wwn=\"0x5000c500a0b1c2d3\"} 1");
    ASSERT_LINE(out, "node_disk_filesystem_info{device=\"sda\",type=\"ext4\",usage=\"filesystem\","
                     "uuid=\"7f1c5b7e-0f6d-4a57-9b1c-2b0c8e4b9a11\",version=\"1.0\"} 1");
    ASSERT_LINE(out, "node_disk_ata_rotation_rate_rpm{device=\"sda\"} 0");
    ASSERT_LINE(out, "node_disk_ata_write_cache_enabled{device=\"sda\"} 1");
    ASSERT_LINE(out, "node_disk_device_mapper_info{device=\"dm-0\",lv_layer=\"\",lv_name=\"root\","
                     "name=\"vg0-root\",uuid=\"LVM-abc\",vg_name=\"vg0\"} 1");
    /* Without udev data the info labels are empty, as in node_exporter. */
    ASSERT_LINE(out,
                "node_disk_info{device=\"nvme0n1\",major=\"259\",minor=\"0\",model=\"\",path=\"\","
                "revision=\"\",serial=\"\",wwn=\"\"} 1");
    /* An old-style line of 11 counters has no discard or flush families. */
    ASSERT_LINE(out, "node_disk_io_time_weighted_seconds_total{device=\"nvme0n1\"} 0.03");
    ASSERT_NO(out, "node_disk_discards_completed_total{device=\"nvme0n1\"}");
    ASSERT_LINE(out, "node_disk_discard_time_seconds_total{device=\"dm-0\"} 0");
    ASSERT_NO(out, "node_disk_flush_requests_total{device=\"dm-0\"}");
    /* The default exclusion: partitions, loop and ram devices. */
    ASSERT_NO(out, "device=\"sda1\"");
    ASSERT_NO(out, "device=\"nvme0n1p1\"");
    ASSERT_NO(out, "device=\"loop0\"");
    ASSERT_NO(out, "device=\"ram0\"");
    free(out);
    host_free(h);
}

static void test_filesystem(void **state) {
    (void)state;
    host_t *h = fixture_host();
    char *out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "# HELP node_filesystem_avail_bytes Filesystem space available to non-root "
                     "users in bytes.");
    ASSERT_LINE(
        out,
        "node_filesystem_device_error{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0");
    ASSERT_LINE(out,
                "node_filesystem_readonly{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} 0");
    assert_non_null(strstr(
        out,
        "\nnode_filesystem_size_bytes{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} "));
    assert_non_null(strstr(
        out,
        "\nnode_filesystem_files_free{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"} "));
    /* \040 in /proc/mounts is a space; a mount that statfs cannot reach has
     * only device_error. */
    ASSERT_LINE(out, "node_filesystem_device_error{device=\"/dev/"
                     "vdb\",fstype=\"xfs\",mountpoint=\"/data disk\"} 1");
    ASSERT_NO(out, "node_filesystem_size_bytes{device=\"/dev/vdb\"");
    ASSERT_NO(out, "node_filesystem_readonly{device=\"/dev/vdb\"");
    /* Default exclusions by mount point and by type. */
    ASSERT_NO(out, "mountpoint=\"/proc\"");
    ASSERT_NO(out, "mountpoint=\"/sys\"");
    ASSERT_NO(out, "mountpoint=\"/run\"");
    ASSERT_NO(out, "fstype=\"cgroup2\"");
    /* The repeated mount is reported once. */
    const char *first = strstr(out, "node_filesystem_device_error{device=\"/dev/vda\"");
    assert_non_null(first);
    assert_null(strstr(first + 1, "node_filesystem_device_error{device=\"/dev/vda\""));
    free(out);
    host_free(h);
}

static void test_net_time_uname(void **state) {
    (void)state;
    host_t *h = fixture_host();
    char *out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out,
                "# HELP node_network_receive_bytes_total Network device statistic receive_bytes.");
    ASSERT_LINE(out, "# TYPE node_network_receive_bytes_total counter");
    ASSERT_LINE(out, "node_network_receive_bytes_total{device=\"eth0\"} 5.9331725e+07");
    ASSERT_LINE(out, "node_network_receive_errs_total{device=\"eth0\"} 1");
    ASSERT_LINE(out, "node_network_receive_drop_total{device=\"eth0\"} 2");
    ASSERT_LINE(out, "node_network_receive_fifo_total{device=\"eth0\"} 3");
    ASSERT_LINE(out, "node_network_receive_frame_total{device=\"eth0\"} 4");
    ASSERT_LINE(out, "node_network_receive_compressed_total{device=\"eth0\"} 5");
    ASSERT_LINE(out, "node_network_receive_multicast_total{device=\"eth0\"} 6");
    ASSERT_LINE(out, "node_network_transmit_packets_total{device=\"eth0\"} 655");
    ASSERT_LINE(out, "node_network_transmit_errs_total{device=\"eth0\"} 7");
    ASSERT_LINE(out, "node_network_transmit_colls_total{device=\"eth0\"} 10");
    ASSERT_LINE(out, "node_network_transmit_carrier_total{device=\"eth0\"} 11");
    ASSERT_LINE(out, "node_network_transmit_compressed_total{device=\"eth0\"} 12");
    ASSERT_LINE(out, "node_network_receive_nohandler_total{device=\"eth0\"} 42");
    ASSERT_LINE(out, "node_network_receive_nohandler_total{device=\"ifb0\"} 0");
    ASSERT_NO(out, "device=\"lo\"");

    char line[128];
    long page = sysconf(_SC_PAGESIZE);
    ASSERT_LINE(out, "node_sockstat_sockets_used 17");
    ASSERT_LINE(out, "# HELP node_sockstat_sockets_used Number of IPv4 sockets in use.");
    ASSERT_LINE(out, "node_sockstat_TCP_inuse 4");
    ASSERT_LINE(out, "node_sockstat_TCP_tw 1");
    ASSERT_LINE(out, "node_sockstat_TCP_mem 18");
    snprintf(line, sizeof line, "node_sockstat_TCP_mem_bytes %ld", 18 * page);
    ASSERT_LINE(out, line);
    snprintf(line, sizeof line, "node_sockstat_UDP_mem_bytes %ld", 3 * page);
    ASSERT_LINE(out, line);
    ASSERT_LINE(out, "# HELP node_sockstat_TCP_alloc Number of TCP sockets in state alloc.");
    ASSERT_LINE(out, "node_sockstat_TCP6_inuse 3");
    ASSERT_LINE(out, "node_sockstat_FRAG6_memory 0");
    ASSERT_NO(out, "node_sockstat_UDPLITE_mem");

    assert_non_null(strstr(out, "\nnode_time_seconds "));
    assert_non_null(strstr(out, "\nnode_time_zone_offset_seconds{time_zone=\""));
    ASSERT_LINE(out,
                "node_time_clocksource_available_info{clocksource=\"acpi_pm\",device=\"0\"} 1");
    ASSERT_LINE(out, "node_time_clocksource_available_info{clocksource=\"tsc\",device=\"0\"} 1");
    ASSERT_LINE(out, "node_time_clocksource_current_info{clocksource=\"tsc\",device=\"0\"} 1");
    assert_non_null(strstr(out, "\nnode_uname_info{domainname=\""));
    assert_non_null(strstr(out, "\",sysname=\"Linux\",version=\""));

    const host_collector_info_t *c = host_collectors();
    size_t n = 0;
    for (; c[n].name; n++) {
        snprintf(line, sizeof line, "node_scrape_collector_success{collector=\"%s\"} 1", c[n].name);
        ASSERT_LINE(out, line);
        snprintf(line, sizeof line, "node_scrape_collector_duration_seconds{collector=\"%s\"} ",
                 c[n].name);
        assert_non_null(strstr(out, line));
    }
    assert_int_equal(n, 13);
    free(out);
    host_free(h);
}

/* Every family has one HELP and one TYPE line, and each sample follows
 * the TYPE line of its own family. */
static void check_families_once(const char *out) {
    vg_buf_t seen = VG_BUF_INIT, line = VG_BUF_INIT, fam = VG_BUF_INIT;
    vg_buf_puts(&fam, "");
    const char *p = out;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        vg_buf_reset(&line);
        vg_buf_append(&line, p, len);
        p += len + (nl ? 1 : 0);
        if (!len) continue;
        char *l = line.data;
        if (strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0) {
            char *name = l + 7, *sp = strchr(name, ' ');
            if (sp) *sp = '\0';
            if (l[2] == 'H') {
                vg_buf_t key = VG_BUF_INIT;
                vg_buf_printf(&key, "|%s|", name);
                if (seen.data && strstr(seen.data, key.data))
                    fail_msg("family written twice: %s", name);
                vg_buf_puts(&seen, key.data);
                vg_buf_free(&key);
                vg_buf_reset(&fam);
                vg_buf_puts(&fam, name);
            } else if (strcmp(name, fam.data) != 0) {
                fail_msg("TYPE without HELP: %s", name);
            }
        } else if (l[0] != '#') {
            size_t nlen = strcspn(l, "{ ");
            if (fam.len != nlen || strncmp(l, fam.data, nlen) != 0)
                fail_msg("sample %s outside its family %s", l, fam.data);
        }
    }
    vg_buf_free(&seen);
    vg_buf_free(&line);
    vg_buf_free(&fam);
}

static void test_each_family_once(void **state) {
    (void)state;
    host_t *h = fixture_host();
    char *out = collect(h, EXPFMT_TEXT_004);
    check_families_once(out);
    free(out);
    host_free(h);
}

static void test_broken_files(void **state) {
    (void)state;
    vg_err_t err = {0};
    host_t *h = host_new(FIX "/broken/proc", FIX "/broken/sys", FIX "/broken", &err);
    assert_non_null(h);
    char *out = collect(h, EXPFMT_TEXT_004);
    /* Missing or malformed: success 0 and nothing half-written. */
    static const char *const bad[] = {"diskstats", "filefd", "filesystem", "loadavg",
                                      "meminfo",   "netdev", "pressure",   "vmstat"};
    char line[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(line, sizeof line, "node_scrape_collector_success{collector=\"%s\"} 0", bad[i]);
        ASSERT_LINE(out, line);
    }
    ASSERT_NO(out, "node_memory_");
    ASSERT_NO(out, "node_load1");
    ASSERT_NO(out, "node_network_");
    ASSERT_NO(out, "node_filefd_");
    ASSERT_NO(out, "node_filesystem_");
    ASSERT_NO(out, "node_vmstat_");
    ASSERT_NO(out, "node_pressure_");
    /* The others go on; sockstat files that do not exist are no error. */
    static const char *const good[] = {"cpu", "sockstat", "stat", "time", "uname"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(line, sizeof line, "node_scrape_collector_success{collector=\"%s\"} 1", good[i]);
        ASSERT_LINE(out, line);
    }
    ASSERT_LINE(out, "node_context_switches_total 272231");
    assert_non_null(strstr(out, "\nnode_time_seconds "));
    check_families_once(out);
    free(out);
    /* A second scrape behaves the same (failures are not sticky). */
    out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_scrape_collector_success{collector=\"meminfo\"} 0");
    ASSERT_LINE(out, "node_scrape_collector_success{collector=\"stat\"} 1");
    free(out);
    host_free(h);

    /* A tree with nothing at all. */
    h = host_new(FIX "/nonexistent/proc", FIX "/nonexistent/sys", FIX "/nonexistent", &err);
    assert_non_null(h);
    out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_scrape_collector_success{collector=\"cpu\"} 0");
    ASSERT_LINE(out, "node_scrape_collector_success{collector=\"uname\"} 1");
    check_families_once(out);
    free(out);
    host_free(h);
}

static void test_enable_and_options(void **state) {
    (void)state;
    vg_err_t err = {0};
    assert_null(host_new("", "/sys", "/", &err));
    host_t *h = fixture_host();
    assert_int_equal(host_collector_set_enabled(h, "nosuch", true, &err), VG_ERR_NOTFOUND);
    assert_non_null(strstr(err.msg, "nosuch"));
    assert_true(host_collector_enabled(h, "cpu"));
    assert_false(host_collector_enabled(h, "nosuch"));
    assert_int_equal(host_collector_set_enabled(h, "cpu", false, &err), 0);
    assert_false(host_collector_enabled(h, "cpu"));

    assert_int_equal(host_option_set(h, "netdev.device-include", "^ifb", &err), 0);
    assert_int_equal(host_option_set(h, "vmstat.fields", "", &err), 0);
    assert_int_equal(host_option_set(h, "diskstats.device-exclude", "^(sd[a-z]|dm-\\d+)$", &err),
                     0);
    assert_int_equal(host_option_set(h, "nosuch.option", "x", &err), VG_ERR_NOTFOUND);
    assert_int_equal(host_option_set(h, "vmstat.fields", "(", &err), VG_ERR_INPUT);
    assert_non_null(strstr(err.msg, "collector.vmstat.fields"));

    char *out = collect(h, EXPFMT_TEXT_004);
    ASSERT_NO(out, "node_cpu_");
    ASSERT_NO(out, "collector=\"cpu\"");
    ASSERT_NO(out, "device=\"eth0\"");
    ASSERT_LINE(out, "node_network_receive_bytes_total{device=\"ifb0\"} 0");
    ASSERT_LINE(out, "node_vmstat_nr_free_pages 6.038292e+06"); /* "" matches every field */
    ASSERT_NO(out, "device=\"sda\"");
    ASSERT_NO(out, "device=\"dm-0\"");
    ASSERT_LINE(out, "node_disk_io_now{device=\"nvme0n1\"} 1");
    free(out);

    /* Nothing enabled: nothing written, not even empty scrape families. */
    for (const host_collector_info_t *c = host_collectors(); c->name; c++)
        assert_int_equal(host_collector_set_enabled(h, c->name, false, NULL), 0);
    out = collect(h, EXPFMT_TEXT_004);
    assert_string_equal(out, "\n");
    free(out);
    host_free(h);
}

static void test_openmetrics_units(void **state) {
    (void)state;
    host_t *h = fixture_host();
    char *out = collect(h, EXPFMT_OPENMETRICS);
    ASSERT_LINE(out, "# TYPE node_cpu_seconds counter");
    ASSERT_LINE(out, "# UNIT node_cpu_seconds seconds");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 21735");
    ASSERT_LINE(out, "# UNIT node_memory_MemAvailable_bytes bytes");
    ASSERT_LINE(out, "# UNIT node_filesystem_size_bytes bytes");
    ASSERT_LINE(out, "# TYPE node_vmstat_pgfault unknown");
    ASSERT_NO(out, "# UNIT node_memory_HugePages_Total");
    ASSERT_LINE(out, "# EOF");
    free(out);
    host_free(h);
}

/* ---------------------------------------------- CPU counters never go back */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_cpu_never_backwards(void **state) {
    (void)state;
    char dir[] = "/tmp/vigil-host-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char stat_path[256];
    snprintf(stat_path, sizeof stat_path, "%s/stat", dir);
    vg_err_t err = {0};
    host_t *h = host_new(dir, dir, dir, &err);
    assert_non_null(h);

    write_file(stat_path, "cpu0 1000 0 500 100000 0 0 0 0 0 0\n");
    char *out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 10");
    free(out);
    /* user goes back: the old value stays. */
    write_file(stat_path, "cpu0 900 0 600 100100 0 0 0 0 0 0\n");
    out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 10");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"system\"} 6");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1001");
    free(out);
    /* idle goes back by 3 s or more: a replugged CPU, the counters reset. */
    write_file(stat_path, "cpu0 50 0 60 500 0 0 0 0 0 0\n");
    out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 0.5");
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 5");
    free(out);
    /* A malformed line fails the collector, and the next good read works. */
    write_file(stat_path, "cpu0 x\n");
    out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_scrape_collector_success{collector=\"cpu\"} 0");
    free(out);
    write_file(stat_path, "cpu0 60 0 60 600 0 0 0 0 0 0\ncpu1 1 2 3 4 5 6 7 8 9 10\n");
    out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 0.6");
    ASSERT_LINE(out, "node_cpu_guest_seconds_total{cpu=\"1\",mode=\"nice\"} 0.1");
    free(out);
    host_free(h);
    unlink(stat_path);
    rmdir(dir);
}

/* ------------------------------------------------- the real machine */

static void *scrape_thread(void *arg) {
    for (int i = 0; i < 20; i++)
        free(collect(arg, EXPFMT_TEXT_004));
    return NULL;
}

static void test_real_host(void **state) {
    (void)state;
    struct stat st;
    if (stat("/proc/stat", &st) != 0) skip();
    vg_err_t err = {0};
    host_t *h = host_new("/proc", "/sys", "/", &err);
    assert_non_null(h);
    char *out = collect(h, EXPFMT_TEXT_004);
    ASSERT_LINE(out, "node_scrape_collector_success{collector=\"cpu\"} 1");
    ASSERT_LINE(out, "node_scrape_collector_success{collector=\"meminfo\"} 1");
    ASSERT_LINE(out, "node_scrape_collector_success{collector=\"stat\"} 1");
    assert_non_null(strstr(out, "\nnode_memory_MemTotal_bytes "));
    check_families_once(out);
    const char *dump = getenv("HOST_DUMP_FILE");
    if (dump && *dump) write_file(dump, out + 1);
    free(out);

    /* Concurrent scrapes are serialised, not corrupted. */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, scrape_thread, h);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);

    /* What one scrape costs, printed (never asserted). */
    int n = 200;
    double t0 = vg_time_mono();
    for (int i = 0; i < n; i++)
        free(collect(h, EXPFMT_TEXT_004));
    printf("host_collect on this machine: %.1f us per scrape\n", (vg_time_mono() - t0) / n * 1e6);
    host_free(h);
}

int main(void) {
    vg_log_setup(VG_LOG_ERROR, VG_LOG_LOGFMT, stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_and_stat),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_disk),
        cmocka_unit_test(test_filesystem),
        cmocka_unit_test(test_net_time_uname),
        cmocka_unit_test(test_each_family_once),
        cmocka_unit_test(test_broken_files),
        cmocka_unit_test(test_enable_and_options),
        cmocka_unit_test(test_openmetrics_units),
        cmocka_unit_test(test_cpu_never_backwards),
        cmocka_unit_test(test_real_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
