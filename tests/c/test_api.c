/*
 * Tests of the stratalog C API (include/stratalog.h) through the real
 * library: spec hash vectors, round trips across a reopen, every status bad
 * input can trigger, offset mismatch, locking, corruption and torn tails on
 * disk, threads sharing one handle.
 *
 * Built and run by tests/c/run.sh (make test-c), dynamically and statically
 * linked, under ASan+UBSan and under valgrind. Usage: test_api [SCRATCH_DIR]
 * (default: a new directory under $TMPDIR or /tmp, removed at the end).
 */
#define _XOPEN_SOURCE 700

#include "stratalog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- a tiny harness ---------------------------------------------------- */

static int checks_failed; /* in the current test */
static int tests_passed, tests_failed;
static pthread_mutex_t harness_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail_at(const char *file, int line, const char *what)
{
    pthread_mutex_lock(&harness_lock);
    checks_failed++;
    fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
    pthread_mutex_unlock(&harness_lock);
}

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond))                                                         \
            fail_at(__FILE__, __LINE__, #cond);                              \
    } while (0)

/* A call that must return `want`. */
#define CHECK_STATUS(call, want)                                             \
    do {                                                                     \
        stratalog_status got_ = (call);                                      \
        if (got_ != (want)) {                                                \
            char msg_[1024];                                                 \
            snprintf(msg_, sizeof msg_, "%s returned %s, wanted %s (%s)",    \
                     #call, stratalog_status_str(got_),                      \
                     stratalog_status_str(want), stratalog_last_error());    \
            fail_at(__FILE__, __LINE__, msg_);                               \
        }                                                                    \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, STRATALOG_STATUS_OK)

static void run_test(const char *name, void (*fn)(void))
{
    /* STRATALOG_C_TEST=name runs only the tests whose names contain it. */
    const char *only = getenv("STRATALOG_C_TEST");
    if (only && *only && strstr(name, only) == NULL)
        return;
    checks_failed = 0;
    fn();
    if (checks_failed == 0) {
        tests_passed++;
        printf("test %s ... ok\n", name);
    } else {
        tests_failed++;
        printf("test %s ... FAILED (%d checks)\n", name, checks_failed);
    }
    fflush(stdout);
}

/* ---- helpers ------------------------------------------------------------ */

static char scratch[4096];
static int dir_counter;

/* A fresh, not yet existing path under the scratch directory. */
static void fresh_path(char *out, size_t len, const char *tag)
{
    snprintf(out, len, "%s/%s-%d", scratch, tag, dir_counter++);
}

static void segment_path(char *out, size_t len, const char *store, uint64_t stream, uint64_t base)
{
    snprintf(out, len, "%s/streams/%020" PRIu64 "/%020" PRIu64 ".seg", store, stream, base);
}

static long file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return (long)st.st_size;
}

static stratalog_slice slice_of(const char *s)
{
    stratalog_slice sl;
    sl.data = (const uint8_t *)s;
    sl.len = strlen(s);
    return sl;
}

static void head_hex(const stratalog_head *head, char out[STRATALOG_HEAD_TEXT_SIZE])
{
    if (stratalog_head_to_hex(head, out, STRATALOG_HEAD_TEXT_SIZE) != STRATALOG_STATUS_OK)
        strcpy(out, "<error>");
}

static int heads_equal(const stratalog_head *a, const stratalog_head *b)
{
    return a->next_offset == b->next_offset && memcmp(a->hash, b->hash, 32) == 0;
}

static stratalog_options small_options(void)
{
    stratalog_options o;
    if (stratalog_options_default(&o) != STRATALOG_STATUS_OK)
        abort();
    o.segment_size = 4096;
    o.checkpoint_interval = 3;
    return o;
}

/* Appends one event holding `text`; returns the status. */
static stratalog_status append_text(stratalog_store *s, uint64_t stream, const char *text,
                                    stratalog_head *head)
{
    stratalog_slice sl = slice_of(text);
    return stratalog_append_batch(s, stream, &sl, 1, NULL, STRATALOG_FSYNC_NO, head);
}

/* Reads the whole stream (in bounded batches) and checks event i equals
 * expect(i); returns the number of events read. */
typedef void (*expect_fn)(uint64_t offset, char *buf, size_t len);

static uint64_t read_all_and_check(const stratalog_store *s, uint64_t stream, expect_fn expect)
{
    uint64_t offset = 0;
    for (;;) {
        stratalog_events *batch = NULL;
        stratalog_status st = stratalog_read_from(s, stream, offset, 300, &batch);
        CHECK_OK(st);
        if (st != STRATALOG_STATUS_OK)
            return offset;
        size_t n = stratalog_events_len(batch);
        CHECK(stratalog_events_first_offset(batch) == offset);
        for (size_t i = 0; i < n; i++) {
            const uint8_t *data = NULL;
            size_t len = 0;
            char want[256];
            CHECK_OK(stratalog_events_get(batch, i, &data, &len));
            expect(offset + i, want, sizeof want);
            CHECK(data != NULL);
            CHECK(len == strlen(want));
            CHECK(len == 0 || (data != NULL && memcmp(data, want, len) == 0));
        }
        stratalog_events_free(batch);
        if (n == 0)
            return offset;
        offset += n;
    }
}

static void numbered_event(uint64_t offset, char *buf, size_t len)
{
    /* Every 7th event is empty; the others vary in length. */
    if (offset % 7 == 6)
        buf[0] = '\0';
    else
        snprintf(buf, len, "event %" PRIu64 " %.*s", offset, (int)(offset % 40),
                 "........................................");
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- tests -------------------------------------------------------------- */

static void test_version(void)
{
    CHECK(strcmp(stratalog_version(), STRATALOG_VERSION_STRING) == 0);
    CHECK(stratalog_version_number() == STRATALOG_VERSION_NUMBER);
    CHECK(STRATALOG_VERSION_NUMBER ==
          STRATALOG_VERSION_MAJOR * 1000000 + STRATALOG_VERSION_MINOR * 1000 + STRATALOG_VERSION_PATCH);
    char text[64];
    snprintf(text, sizeof text, "%d.%d.%d", STRATALOG_VERSION_MAJOR, STRATALOG_VERSION_MINOR,
             STRATALOG_VERSION_PATCH);
    CHECK(strcmp(text, stratalog_version()) == 0);
}

static void test_status_names_and_numbers(void)
{
    /* The numbers are ABI: never changed, never reused. */
    CHECK(STRATALOG_STATUS_OK == 0);
    CHECK(STRATALOG_STATUS_NULL_ARGUMENT == 1);
    CHECK(STRATALOG_STATUS_INVALID_ARGUMENT == 2);
    CHECK(STRATALOG_STATUS_IO == 3);
    CHECK(STRATALOG_STATUS_CORRUPTION == 4);
    CHECK(STRATALOG_STATUS_CHAIN_MISMATCH == 5);
    CHECK(STRATALOG_STATUS_OFFSET_MISMATCH == 6);
    CHECK(STRATALOG_STATUS_OFFSET_OUT_OF_RANGE == 7);
    CHECK(STRATALOG_STATUS_EVENT_TOO_LARGE == 8);
    CHECK(STRATALOG_STATUS_LOCKED == 9);
    CHECK(STRATALOG_STATUS_READ_ONLY == 10);
    CHECK(STRATALOG_STATUS_CLOSED == 11);
    CHECK(STRATALOG_STATUS_PANIC == 12);
    CHECK(STRATALOG_STATUS_POISONED == 13);
    CHECK(STRATALOG_STATUS_FORKED == 14);
    CHECK(STRATALOG_STATUS_TIMEOUT == 15);
    CHECK(strcmp(stratalog_status_str(STRATALOG_STATUS_OK), "STRATALOG_STATUS_OK") == 0);
    CHECK(strcmp(stratalog_status_str(STRATALOG_STATUS_OFFSET_MISMATCH),
                 "STRATALOG_STATUS_OFFSET_MISMATCH") == 0);
    CHECK(strcmp(stratalog_status_str(STRATALOG_STATUS_POISONED), "STRATALOG_STATUS_POISONED") == 0);
    CHECK(strcmp(stratalog_status_str(STRATALOG_STATUS_FORKED), "STRATALOG_STATUS_FORKED") == 0);
    CHECK(strcmp(stratalog_status_str(STRATALOG_STATUS_TIMEOUT), "STRATALOG_STATUS_TIMEOUT") == 0);
    CHECK(STRATALOG_STATUS_VERIFICATION_FAILED == 16);
    CHECK(STRATALOG_STATUS_CHECKPOINT_REFUSED == 17);
    CHECK(strcmp(stratalog_status_str(STRATALOG_STATUS_CHECKPOINT_REFUSED),
                 "STRATALOG_STATUS_CHECKPOINT_REFUSED") == 0);
    CHECK(STRATALOG_STATUS_WITNESS_FAILED == 18);
    CHECK(STRATALOG_STATUS_PRUNED == 19);
    CHECK(strcmp(stratalog_status_str(STRATALOG_STATUS_PRUNED), "STRATALOG_STATUS_PRUNED") == 0);
    CHECK(strcmp(stratalog_status_str(20), "STRATALOG_STATUS_UNKNOWN") == 0);
    CHECK(strcmp(stratalog_status_str(-1), "STRATALOG_STATUS_UNKNOWN") == 0);
}

static const char *const VECTOR_EVENTS[4] = {"alpha", "beta", "gamma", ""};
static const char *const VECTOR_HEADS[4] = {
    "1:94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009",
    "2:d18fbfbfce863aa5ee53b8a60a692fc980b90c9709d79f77d9aa8252451e2141",
    "3:4d523d709ed156197e20c7d3014349c127ebc40f14006f37db4935e38608c861",
    "4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc",
};

/* Appends the spec vectors one by one and checks every head. */
static void check_vectors_one_by_one(stratalog_store *s, uint64_t stream)
{
    for (int i = 0; i < 4; i++) {
        stratalog_head head;
        char hex[STRATALOG_HEAD_TEXT_SIZE];
        CHECK_OK(append_text(s, stream, VECTOR_EVENTS[i], &head));
        head_hex(&head, hex);
        CHECK(strcmp(hex, VECTOR_HEADS[i]) == 0);
        stratalog_head from_store;
        CHECK_OK(stratalog_chain_head(s, stream, &from_store));
        CHECK(heads_equal(&head, &from_store));
    }
}

static void test_hash_vectors(void)
{
    /* In memory, one event per append. */
    stratalog_store *mem = NULL;
    CHECK_OK(stratalog_open_in_memory(NULL, &mem));
    check_vectors_one_by_one(mem, 0);

    /* The empty head. */
    stratalog_head empty;
    char hex[STRATALOG_HEAD_TEXT_SIZE];
    CHECK_OK(stratalog_chain_head(mem, 99, &empty));
    head_hex(&empty, hex);
    CHECK(strcmp(hex, "0:0000000000000000000000000000000000000000000000000000000000000000") == 0);

    /* One batch of all four gives the same final head. */
    stratalog_slice batch[4];
    for (int i = 0; i < 4; i++)
        batch[i] = slice_of(VECTOR_EVENTS[i]);
    batch[3].data = NULL; /* an empty event may have NULL data */
    stratalog_head head;
    CHECK_OK(stratalog_append_batch(mem, 1, batch, 4, &(uint64_t){0}, STRATALOG_FSYNC_NO, &head));
    head_hex(&head, hex);
    CHECK(strcmp(hex, VECTOR_HEADS[3]) == 0);
    stratalog_close(mem);

    /* On disk, compressed, tiny segments, a checkpoint after every event:
     * the head depends only on the events. */
    stratalog_compression codecs[3] = {STRATALOG_COMPRESSION_NONE, STRATALOG_COMPRESSION_LZ4,
                                       STRATALOG_COMPRESSION_ZSTD};
    for (int c = 0; c < 3; c++) {
        char path[4200];
        fresh_path(path, sizeof path, "vectors");
        stratalog_options o = small_options();
        o.checkpoint_interval = 1;
        o.compression = codecs[c];
        stratalog_store *disk = NULL;
        CHECK_OK(stratalog_open(path, &o, &disk));
        check_vectors_one_by_one(disk, 5);
        stratalog_verify_report report;
        CHECK_OK(stratalog_verify(disk, 5, &report));
        CHECK(report.events == 4);
        CHECK(report.checkpoints == 3);
        CHECK(report.failed_offset == STRATALOG_NO_OFFSET);
        head_hex(&report.head, hex);
        CHECK(strcmp(hex, VECTOR_HEADS[3]) == 0);
        stratalog_close(disk);
    }

    /* Text form round trip, and what the parser refuses. */
    stratalog_head parsed;
    CHECK_OK(stratalog_head_parse(VECTOR_HEADS[2], &parsed));
    CHECK(parsed.next_offset == 3);
    CHECK(parsed.hash[0] == 0x4d && parsed.hash[31] == 0x61);
    head_hex(&parsed, hex);
    CHECK(strcmp(hex, VECTOR_HEADS[2]) == 0);
    char upper[STRATALOG_HEAD_TEXT_SIZE + 2];
    snprintf(upper, sizeof upper, " 3:4D523D709ED156197E20C7D3014349C127EBC40F14006F37DB4935E38608C861\n");
    stratalog_head parsed_upper;
    CHECK_OK(stratalog_head_parse(upper, &parsed_upper));
    CHECK(heads_equal(&parsed, &parsed_upper));
}

static void test_round_trip_across_reopen(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "roundtrip");
    stratalog_options o = small_options();
    o.compression = STRATALOG_COMPRESSION_LZ4;
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    CHECK(!stratalog_is_read_only(s));

    /* 60 batches of 1..5 events on stream 7, 10 events on stream 3. */
    uint64_t offset = 0;
    stratalog_head head;
    for (int b = 0; b < 60; b++) {
        char texts[5][256];
        stratalog_slice batch[5];
        size_t n = (size_t)(b % 5) + 1;
        for (size_t i = 0; i < n; i++) {
            numbered_event(offset + i, texts[i], sizeof texts[i]);
            batch[i] = slice_of(texts[i]);
        }
        CHECK_OK(stratalog_append_batch(s, 7, batch, n, &offset, (b % 10 == 0) ? STRATALOG_FSYNC_YES : STRATALOG_FSYNC_NO, &head));
        offset += n;
        CHECK(head.next_offset == offset);
    }
    for (int i = 0; i < 10; i++) {
        char text[256];
        numbered_event((uint64_t)i, text, sizeof text);
        CHECK_OK(append_text(s, 3, text, NULL));
    }
    CHECK(read_all_and_check(s, 7, numbered_event) == offset);

    stratalog_options got;
    CHECK_OK(stratalog_store_options(s, &got));
    CHECK(got.segment_size == 4096 && got.checkpoint_interval == 3);
    CHECK(got.compression == STRATALOG_COMPRESSION_LZ4);
    CHECK_OK(stratalog_sync_stream(s, 7));
    CHECK_OK(stratalog_sync_stream(s, 99)); /* no such stream: nothing to sync */
    CHECK_OK(stratalog_sync(s));
    CHECK_OK(stratalog_shutdown(s));
    stratalog_close(s);

    /* Reopen for writing: same events, same head, and appends continue. */
    s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    stratalog_head reopened;
    CHECK_OK(stratalog_chain_head(s, 7, &reopened));
    CHECK(heads_equal(&head, &reopened));
    CHECK(read_all_and_check(s, 7, numbered_event) == offset);
    CHECK(read_all_and_check(s, 3, numbered_event) == 10);

    stratalog_stream_list *list = NULL;
    CHECK_OK(stratalog_streams(s, &list));
    CHECK(stratalog_stream_list_len(list) == 2);
    uint64_t id = 0;
    CHECK_OK(stratalog_stream_list_get(list, 0, &id));
    CHECK(id == 3);
    CHECK_OK(stratalog_stream_list_get(list, 1, &id));
    CHECK(id == 7);
    const uint64_t *ids = stratalog_stream_list_data(list);
    CHECK(ids != NULL && ids[0] == 3 && ids[1] == 7);
    stratalog_stream_list_free(list);

    stratalog_verify_report report;
    CHECK_OK(stratalog_verify_against(s, 7, &head, &report));
    CHECK(report.events == offset);
    CHECK(report.segments > 1); /* 4096-byte segments rotated */
    CHECK(report.checkpoints == (offset - 1) / 3);
    CHECK(heads_equal(&report.head, &head));

    char text[256];
    numbered_event(offset, text, sizeof text);
    CHECK_OK(append_text(s, 7, text, &head));
    CHECK(head.next_offset == offset + 1);
    stratalog_close(s);

    /* Read-only: everything readable, nothing writable. */
    s = NULL;
    CHECK_OK(stratalog_open_read_only(path, &s));
    CHECK(stratalog_is_read_only(s));
    CHECK(read_all_and_check(s, 7, numbered_event) == offset + 1);
    CHECK_STATUS(append_text(s, 7, "nope", NULL), STRATALOG_STATUS_READ_ONLY);
    CHECK(stratalog_last_error_status() == STRATALOG_STATUS_READ_ONLY);
    CHECK_OK(stratalog_verify(s, 7, NULL));

    /* An iterator walks the same events across segments. */
    stratalog_iter *it = NULL;
    CHECK_OK(stratalog_iter_new(s, 7, 5, &it));
    uint64_t expect_offset = 5;
    for (;;) {
        bool has = false;
        uint64_t at = 0;
        const uint8_t *data = NULL;
        size_t len = 0;
        CHECK_OK(stratalog_iter_next(it, &has, &at, &data, &len));
        if (!has)
            break;
        char want[256];
        numbered_event(at, want, sizeof want);
        CHECK(at == expect_offset);
        CHECK(data != NULL && len == strlen(want) && memcmp(data, want, len) == 0);
        expect_offset++;
    }
    CHECK(expect_offset == offset + 1);
    stratalog_iter_free(it);
    stratalog_close(s);
}

static void test_batches_and_iterators_outlive_the_store(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "outlive");
    stratalog_options o = small_options();
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    for (uint64_t i = 0; i < 200; i++) {
        char text[256];
        numbered_event(i, text, sizeof text);
        CHECK_OK(append_text(s, 1, text, NULL));
    }
    stratalog_events *batch = NULL;
    CHECK_OK(stratalog_read_from(s, 1, 0, UINT64_MAX, &batch));
    stratalog_iter *it = NULL;
    CHECK_OK(stratalog_iter_new(s, 1, 0, &it));
    stratalog_close(s); /* frees the handle; the batch and iterator live on */

    CHECK(stratalog_events_len(batch) == 200);
    for (size_t i = 0; i < stratalog_events_len(batch); i++) {
        const uint8_t *data;
        size_t len;
        char want[256];
        numbered_event(i, want, sizeof want);
        CHECK_OK(stratalog_events_get(batch, i, &data, &len));
        CHECK(len == strlen(want) && memcmp(data, want, len) == 0);
    }
    stratalog_events_free(batch);

    uint64_t count = 0;
    for (;;) {
        bool has;
        uint64_t at;
        const uint8_t *data;
        size_t len;
        CHECK_OK(stratalog_iter_next(it, &has, &at, &data, &len));
        if (!has)
            break;
        char want[256];
        numbered_event(at, want, sizeof want);
        CHECK(at == count && len == strlen(want) && memcmp(data, want, len) == 0);
        count++;
    }
    CHECK(count == 200);
    stratalog_iter_free(it);
}

static void test_max_bytes(void)
{
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open_in_memory(NULL, &s));
    stratalog_slice batch[3] = {slice_of("aaaa"), slice_of("bbbb"), slice_of("cccc")};
    CHECK_OK(stratalog_append_batch(s, 0, batch, 3, NULL, STRATALOG_FSYNC_NO, NULL));
    stratalog_events *ev = NULL;
    CHECK_OK(stratalog_read_from(s, 0, 0, 8, &ev));
    CHECK(stratalog_events_len(ev) == 2);
    stratalog_events_free(ev);
    ev = NULL;
    /* At least one event, even when it alone passes max_bytes. */
    CHECK_OK(stratalog_read_from(s, 0, 1, 1, &ev));
    CHECK(stratalog_events_len(ev) == 1);
    CHECK(stratalog_events_first_offset(ev) == 1);
    stratalog_events_free(ev);
    ev = NULL;
    /* At the end: an empty batch. */
    CHECK_OK(stratalog_read_from(s, 0, 3, 100, &ev));
    CHECK(ev != NULL && stratalog_events_len(ev) == 0);
    stratalog_events_free(ev);
    stratalog_close(s);
}

static void test_null_arguments(void)
{
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open_in_memory(NULL, &s));
    CHECK_OK(append_text(s, 0, "x", NULL));
    stratalog_head head;
    stratalog_head sentinel;
    memset(&sentinel, 0xab, sizeof sentinel);
    stratalog_slice ok = slice_of("y");
    stratalog_slice bad = {NULL, 3};

    CHECK_STATUS(stratalog_open(NULL, NULL, &s), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "path") != NULL);
    CHECK_STATUS(stratalog_open("somewhere", NULL, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_open_in_memory(NULL, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_open_read_only(NULL, &s), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_options_default(NULL), STRATALOG_STATUS_NULL_ARGUMENT);

    CHECK_STATUS(stratalog_append_batch(NULL, 0, &ok, 1, NULL, STRATALOG_FSYNC_NO, NULL),
                 STRATALOG_STATUS_NULL_ARGUMENT);
    memcpy(&head, &sentinel, sizeof head);
    CHECK_STATUS(stratalog_append_batch(s, 0, NULL, 2, NULL, STRATALOG_FSYNC_NO, &head),
                 STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK(memcmp(&head, &sentinel, sizeof head) == 0); /* outputs only on success */
    stratalog_slice mixed[2] = {ok, bad};
    CHECK_STATUS(stratalog_append_batch(s, 0, mixed, 2, NULL, STRATALOG_FSYNC_NO, &head),
                 STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "events[1]") != NULL);
    CHECK(memcmp(&head, &sentinel, sizeof head) == 0);

    CHECK_STATUS(stratalog_chain_head(NULL, 0, &head), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_chain_head(s, 0, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    stratalog_events *ev = (stratalog_events *)&sentinel;
    CHECK_STATUS(stratalog_read_from(NULL, 0, 0, 10, &ev), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK(ev == (stratalog_events *)&sentinel);
    CHECK_STATUS(stratalog_read_from(s, 0, 0, 10, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_verify(NULL, 0, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_verify_against(s, 0, NULL, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_sync(NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_sync_stream(NULL, 0), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_shutdown(NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_streams(NULL, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_streams(s, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_store_options(s, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_iter_new(s, 0, 0, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_iter_next(NULL, NULL, NULL, NULL, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_head_to_hex(NULL, NULL, 0), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_head_parse(NULL, &head), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_head_parse("0:00", NULL), STRATALOG_STATUS_NULL_ARGUMENT);

    const uint8_t *data;
    size_t len;
    CHECK_STATUS(stratalog_events_get(NULL, 0, &data, &len), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_stream_list_get(NULL, 0, NULL), STRATALOG_STATUS_NULL_ARGUMENT);

    /* NULL-tolerant functions. */
    CHECK(stratalog_events_len(NULL) == 0);
    CHECK(stratalog_events_first_offset(NULL) == 0);
    CHECK(stratalog_stream_list_len(NULL) == 0);
    CHECK(stratalog_stream_list_data(NULL) == NULL);
    CHECK(!stratalog_is_read_only(NULL));
    CHECK(!stratalog_last_error_detail(NULL));
    stratalog_close(NULL);
    stratalog_events_free(NULL);
    stratalog_stream_list_free(NULL);
    stratalog_iter_free(NULL);

    /* Nothing above reached the stream. */
    CHECK_OK(stratalog_chain_head(s, 0, &head));
    CHECK(head.next_offset == 1);
    stratalog_close(s);
}

static void test_invalid_arguments(void)
{
    stratalog_store *s = NULL;
    stratalog_options o;
    CHECK_OK(stratalog_options_default(&o));
    CHECK(o.segment_size == 64u << 20 && o.checkpoint_interval == 256);
    CHECK(o.compression == STRATALOG_COMPRESSION_NONE && o.max_event_size == 16u << 20 && !o.fsync);
    CHECK(o.max_open_files == 256);

    char path[4200];
    fresh_path(path, sizeof path, "invalid");

    o.segment_size = 100;
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(s == NULL);
    CHECK(strstr(stratalog_last_error(), "segment_size") != NULL);
    CHECK_STATUS(stratalog_open_in_memory(&o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_OK(stratalog_options_default(&o));
    o.checkpoint_interval = 0;
    CHECK_STATUS(stratalog_open_in_memory(&o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_OK(stratalog_options_default(&o));
    o.max_event_size = 0;
    CHECK_STATUS(stratalog_open_in_memory(&o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_OK(stratalog_options_default(&o));
    o.max_open_files = 7;
    CHECK_STATUS(stratalog_open_in_memory(&o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "max_open_files") != NULL);
    CHECK_OK(stratalog_options_default(&o));
    o.compression = (stratalog_compression)7; /* not a codec */
    CHECK_STATUS(stratalog_open_in_memory(&o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "compression") != NULL);
    CHECK(s == NULL);

    /* Paths: not UTF-8, empty, a directory that is not a store. */
    CHECK_STATUS(stratalog_open("\xff\xfe-not-utf8", NULL, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "UTF-8") != NULL);
    CHECK_STATUS(stratalog_open_read_only("\xc3\x28", &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(stratalog_open("", NULL, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(mkdir(path, 0755) == 0);
    char stray[4300];
    snprintf(stray, sizeof stray, "%s/unrelated.txt", path);
    FILE *f = fopen(stray, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK_STATUS(stratalog_open(path, NULL, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(stratalog_open_read_only(path, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(s == NULL);

    /* An empty batch, an index out of range, bad head text, small buffer. */
    CHECK_OK(stratalog_open_in_memory(NULL, &s));
    stratalog_slice one = slice_of("one");
    CHECK_STATUS(stratalog_append_batch(s, 0, NULL, 0, NULL, STRATALOG_FSYNC_NO, NULL),
                 STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(stratalog_append_batch(s, 0, &one, 0, NULL, STRATALOG_FSYNC_NO, NULL),
                 STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_OK(stratalog_append_batch(s, 0, &one, 1, NULL, STRATALOG_FSYNC_NO, NULL));
    stratalog_events *ev = NULL;
    CHECK_OK(stratalog_read_from(s, 0, 0, 100, &ev));
    const uint8_t *data = NULL;
    size_t len = 99;
    CHECK_STATUS(stratalog_events_get(ev, 1, &data, &len), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(data == NULL && len == 99);
    stratalog_events_free(ev);
    stratalog_stream_list *list = NULL;
    CHECK_OK(stratalog_streams(s, &list));
    uint64_t id = 42;
    CHECK_STATUS(stratalog_stream_list_get(list, 1, &id), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(id == 42);
    stratalog_stream_list_free(list);

    stratalog_head head;
    CHECK_STATUS(stratalog_head_parse("3:zz", &head), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(stratalog_head_parse("", &head), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(
        stratalog_head_parse("0:1111111111111111111111111111111111111111111111111111111111111111", &head),
        STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_OK(stratalog_chain_head(s, 0, &head));
    char small[10];
    memset(small, 'z', sizeof small);
    CHECK_STATUS(stratalog_head_to_hex(&head, small, sizeof small), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(small[0] == 'z');
    stratalog_close(s);
}

static void test_io_errors(void)
{
    stratalog_store *s = NULL;
    char path[4200];
    fresh_path(path, sizeof path, "missing");
    CHECK_STATUS(stratalog_open_read_only(path, &s), STRATALOG_STATUS_IO);
    stratalog_error_detail d;
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.status == STRATALOG_STATUS_IO);
    CHECK(d.os_error == ENOENT);
    CHECK(s == NULL);

    /* A store "inside" a regular file: the OS says ENOTDIR. */
    char file[4200], inside[4300];
    fresh_path(file, sizeof file, "plainfile");
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(inside, sizeof inside, "%s/store", file);
    CHECK_STATUS(stratalog_open(inside, NULL, &s), STRATALOG_STATUS_IO);
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.os_error == ENOTDIR);
    /* The regular file itself, as a store: "not a directory", both opens. */
    CHECK_STATUS(stratalog_open_read_only(file, &s), STRATALOG_STATUS_IO);
    CHECK(stratalog_last_error_detail(&d) && d.os_error == ENOTDIR);
    CHECK(strstr(stratalog_last_error(), "not a directory") != NULL);
    CHECK_STATUS(stratalog_open(file, NULL, &s), STRATALOG_STATUS_IO);
    CHECK(stratalog_last_error_detail(&d) && d.os_error == ENOTDIR);
    CHECK(strstr(stratalog_last_error(), "not a directory") != NULL);
    CHECK(s == NULL);

    /* A write the OS refuses (file size limit): IO with EFBIG, nothing of
     * the batch stays, and the stream works again once the limit is gone. */
    fresh_path(path, sizeof path, "efbig");
    CHECK_OK(stratalog_open(path, NULL, &s));
    stratalog_head before, after;
    CHECK_OK(append_text(s, 0, "small", &before));
    char seg[4400];
    segment_path(seg, sizeof seg, path, 0, 0);
    long size = file_size(seg);
    CHECK(size > 0);
    struct rlimit old, tight;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    tight = old;
    tight.rlim_cur = (rlim_t)size + 100;
    CHECK(setrlimit(RLIMIT_FSIZE, &tight) == 0);
    static uint8_t big[5000];
    memset(big, 'b', sizeof big);
    stratalog_slice sl = {big, sizeof big};
    CHECK_STATUS(stratalog_append_batch(s, 0, &sl, 1, NULL, STRATALOG_FSYNC_NO, NULL),
                 STRATALOG_STATUS_IO);
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.os_error == EFBIG);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, old_handler);
    CHECK(file_size(seg) == size);
    CHECK_OK(stratalog_chain_head(s, 0, &after));
    CHECK(heads_equal(&before, &after));
    CHECK_OK(stratalog_append_batch(s, 0, &sl, 1, &(uint64_t){1}, STRATALOG_FSYNC_YES, &after));
    CHECK(after.next_offset == 2);
    CHECK_OK(stratalog_verify(s, 0, NULL));
    stratalog_close(s);
}

static void test_offset_errors_and_details(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "offsets");
    stratalog_options o;
    CHECK_OK(stratalog_options_default(&o));
    o.max_event_size = 16;
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    stratalog_slice two[2] = {slice_of("a"), slice_of("b")};
    stratalog_head head;
    CHECK_OK(stratalog_append_batch(s, 4, two, 2, &(uint64_t){0}, STRATALOG_FSYNC_YES, &head));
    char seg[4400];
    segment_path(seg, sizeof seg, path, 4, 0);
    long size = file_size(seg);

    /* Expected-offset mismatch: error with both offsets, nothing written. */
    stratalog_head out;
    memset(&out, 0x5a, sizeof out);
    CHECK_STATUS(stratalog_append_batch(s, 4, two, 2, &(uint64_t){5}, STRATALOG_FSYNC_YES, &out), STRATALOG_STATUS_OFFSET_MISMATCH);
    CHECK(out.next_offset == 0x5a5a5a5a5a5a5a5aULL);
    uint64_t expected = 0, actual = 0;
    CHECK(stratalog_last_error_offsets(&expected, &actual));
    CHECK(expected == 5 && actual == 2);
    stratalog_error_detail d;
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.status == STRATALOG_STATUS_OFFSET_MISMATCH && d.expected_offset == 5 && d.actual_offset == 2);
    CHECK(strstr(stratalog_last_error(), "expected") != NULL);
    CHECK_STATUS(stratalog_append_batch(s, 4, two, 2, &(uint64_t){0}, STRATALOG_FSYNC_NO, NULL), STRATALOG_STATUS_OFFSET_MISMATCH);
    CHECK(file_size(seg) == size);
    CHECK_OK(stratalog_chain_head(s, 4, &out));
    CHECK(heads_equal(&out, &head));

    /* A successful call leaves the last error alone. */
    CHECK_OK(stratalog_append_batch(s, 4, two, 2, &(uint64_t){2}, STRATALOG_FSYNC_NO, &head));
    CHECK(stratalog_last_error_status() == STRATALOG_STATUS_OFFSET_MISMATCH);
    CHECK(head.next_offset == 4);

    /* Offset out of range: the stream, the offset and where it ends. */
    stratalog_events *ev = NULL;
    CHECK_STATUS(stratalog_read_from(s, 4, 10, 100, &ev), STRATALOG_STATUS_OFFSET_OUT_OF_RANGE);
    CHECK(ev == NULL);
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.stream == 4 && d.offset == 10 && d.next_offset == 4);
    CHECK(!stratalog_last_error_offsets(&expected, &actual)); /* not a mismatch now */
    CHECK_STATUS(stratalog_read_from(s, 12345, 1, 100, &ev), STRATALOG_STATUS_OFFSET_OUT_OF_RANGE);
    /* An iterator past the end fails when it is made, with the same detail. */
    stratalog_iter *it = NULL;
    CHECK_STATUS(stratalog_iter_new(s, 4, 9, &it), STRATALOG_STATUS_OFFSET_OUT_OF_RANGE);
    CHECK(it == NULL);
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.stream == 4 && d.offset == 9 && d.next_offset == 4);
    CHECK_STATUS(stratalog_iter_new(s, 12345, 1, &it), STRATALOG_STATUS_OFFSET_OUT_OF_RANGE);
    CHECK_OK(stratalog_iter_new(s, 4, 4, &it)); /* at the end: empty, not an error */
    bool has = true;
    uint64_t at;
    const uint8_t *data;
    size_t len;
    CHECK_OK(stratalog_iter_next(it, &has, &at, &data, &len));
    CHECK(!has);
    stratalog_iter_free(it);

    /* Event too large: size and maximum, nothing written. */
    stratalog_slice big[2] = {slice_of("fits"), slice_of("this one is 24 bytes....")};
    CHECK_STATUS(stratalog_append_batch(s, 4, big, 2, NULL, STRATALOG_FSYNC_NO, NULL),
                 STRATALOG_STATUS_EVENT_TOO_LARGE);
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.size == 24 && d.max_size == 16);
    CHECK_OK(stratalog_chain_head(s, 4, &out));
    CHECK(out.next_offset == 4);
    stratalog_close(s);

    /* Nothing of the failed appends survives a reopen either. */
    s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    CHECK_OK(stratalog_chain_head(s, 4, &out));
    CHECK(heads_equal(&out, &head));
    stratalog_close(s);
}

static void test_append_batches(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "group");
    stratalog_options o;
    CHECK_OK(stratalog_options_default(&o));
    o.max_event_size = 16;
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));

    stratalog_slice a[2] = {slice_of("a0"), slice_of("a1")};
    stratalog_slice b[1] = {slice_of("b0")};
    stratalog_slice big[1] = {slice_of("this one is 24 bytes....")};
    stratalog_slice d[1] = {slice_of("d0")};
    stratalog_batch batches[5] = {
        {a, 2, &(uint64_t){0}, STRATALOG_FSYNC_YES},                     /* ok: head 2 */
        {b, 1, &(uint64_t){7}, STRATALOG_FSYNC_YES},                     /* wrong expected offset */
        {big, 1, NULL, STRATALOG_FSYNC_NO}, /* too large */
        {NULL, 0, NULL, STRATALOG_FSYNC_NO}, /* empty */
        {d, 1, &(uint64_t){2}, STRATALOG_FSYNC_YES},                     /* ok: head 3 */
    };
    stratalog_batch_outcome out[5];
    CHECK_OK(stratalog_append_batches(s, 6, batches, 5, out));
    CHECK(out[0].status == STRATALOG_STATUS_OK && out[0].head.next_offset == 2);
    CHECK(strcmp(stratalog_batch_error(0), "") == 0);
    CHECK(out[1].status == STRATALOG_STATUS_OFFSET_MISMATCH);
    CHECK(out[1].detail.status == STRATALOG_STATUS_OFFSET_MISMATCH);
    CHECK(out[1].detail.expected_offset == 7 && out[1].detail.actual_offset == 2);
    CHECK(strstr(stratalog_batch_error(1), "expected") != NULL);
    CHECK(out[2].status == STRATALOG_STATUS_EVENT_TOO_LARGE);
    CHECK(out[2].detail.size == 24 && out[2].detail.max_size == 16);
    CHECK(out[3].status == STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(out[4].status == STRATALOG_STATUS_OK && out[4].head.next_offset == 3);
    CHECK(strcmp(stratalog_batch_error(4), "") == 0);
    CHECK(strcmp(stratalog_batch_error(99), "") == 0);
    stratalog_head head;
    CHECK_OK(stratalog_chain_head(s, 6, &head));
    CHECK(heads_equal(&head, &out[4].head));

    /* Bad arguments fail the whole call: nothing runs, outcomes untouched. */
    memset(out, 0x5a, sizeof out);
    stratalog_batch bad[2] = {{d, 1, NULL, STRATALOG_FSYNC_NO}, {NULL, 1, NULL, STRATALOG_FSYNC_NO}};
    CHECK_STATUS(stratalog_append_batches(s, 6, bad, 2, out), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "batches[1]") != NULL);
    CHECK(out[0].head.next_offset == 0x5a5a5a5a5a5a5a5aULL);
    CHECK_STATUS(stratalog_append_batches(s, 6, NULL, 1, out), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_append_batches(s, 6, batches, 1, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_append_batches(NULL, 6, batches, 1, out), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_append_batches(s, 6, batches, SIZE_MAX, out), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "too large") != NULL);
    CHECK_OK(stratalog_append_batches(s, 6, NULL, 0, NULL));
    CHECK_OK(stratalog_chain_head(s, 6, &head));
    CHECK(head.next_offset == 3);
    stratalog_close(s);

    /* What the group acknowledged is there after a reopen; a read-only
     * store refuses the whole call. */
    s = NULL;
    CHECK_OK(stratalog_open_read_only(path, &s));
    CHECK_OK(stratalog_chain_head(s, 6, &head));
    CHECK(head.next_offset == 3);
    stratalog_events *ev = NULL;
    CHECK_OK(stratalog_read_from(s, 6, 0, 100, &ev));
    CHECK(stratalog_events_len(ev) == 3);
    stratalog_events_free(ev);
    CHECK_STATUS(stratalog_append_batches(s, 6, batches, 1, out), STRATALOG_STATUS_READ_ONLY);
    stratalog_close(s);
}

static void *other_thread_error(void *arg)
{
    stratalog_status *seen = arg;
    /* A thread that never failed has no last error. */
    seen[0] = stratalog_last_error_status();
    seen[1] = strcmp(stratalog_last_error(), "") == 0 ? STRATALOG_STATUS_OK : STRATALOG_STATUS_PANIC;
    seen[2] = stratalog_open_in_memory(NULL, NULL);
    seen[3] = stratalog_last_error_status();
    return NULL;
}

static void test_last_error_is_per_thread(void)
{
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open_in_memory(NULL, &s));
    CHECK_OK(append_text(s, 0, "x", NULL));
    stratalog_events *ev = NULL;
    CHECK_STATUS(stratalog_read_from(s, 0, 5, 1, &ev), STRATALOG_STATUS_OFFSET_OUT_OF_RANGE);
    stratalog_status seen[4];
    pthread_t t;
    CHECK(pthread_create(&t, NULL, other_thread_error, seen) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(seen[0] == STRATALOG_STATUS_OK);
    CHECK(seen[1] == STRATALOG_STATUS_OK);
    CHECK(seen[2] == STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK(seen[3] == STRATALOG_STATUS_NULL_ARGUMENT);
    /* This thread's error is untouched by the other's. */
    CHECK(stratalog_last_error_status() == STRATALOG_STATUS_OFFSET_OUT_OF_RANGE);
    CHECK(strstr(stratalog_last_error(), "out of range") != NULL);
    stratalog_close(s);
}

static void test_second_writer_is_locked(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "locked");
    stratalog_store *a = NULL, *b = NULL, *ro = NULL;
    CHECK_OK(stratalog_open(path, NULL, &a));
    CHECK_OK(append_text(a, 1, "first", NULL));
    CHECK_STATUS(stratalog_open(path, NULL, &b), STRATALOG_STATUS_LOCKED);
    CHECK(b == NULL);
    CHECK(strstr(stratalog_last_error(), "locked") != NULL);
    /* Readers need no lock. */
    CHECK_OK(stratalog_open_read_only(path, &ro));
    stratalog_head head;
    CHECK_OK(stratalog_chain_head(ro, 1, &head));
    CHECK(head.next_offset == 1);
    stratalog_close(ro);
    /* Shutdown releases the lock even before the handle is freed. */
    CHECK_OK(stratalog_shutdown(a));
    CHECK_OK(stratalog_open(path, NULL, &b));
    CHECK_OK(append_text(b, 1, "second", &head));
    CHECK(head.next_offset == 2);
    stratalog_close(a);
    stratalog_close(b);
}

static void test_closed(void)
{
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open_in_memory(NULL, &s));
    CHECK_OK(append_text(s, 0, "x", NULL));
    CHECK_OK(stratalog_shutdown(s));
    CHECK_OK(stratalog_shutdown(s)); /* again: no-op */
    stratalog_head head;
    stratalog_events *ev = NULL;
    stratalog_stream_list *list = NULL;
    stratalog_iter *it = NULL;
    stratalog_verify_report report;
    memset(&report, 0x77, sizeof report);
    CHECK_STATUS(append_text(s, 0, "y", NULL), STRATALOG_STATUS_CLOSED);
    CHECK_STATUS(stratalog_read_from(s, 0, 0, 10, &ev), STRATALOG_STATUS_CLOSED);
    CHECK_STATUS(stratalog_chain_head(s, 0, &head), STRATALOG_STATUS_CLOSED);
    CHECK_STATUS(stratalog_verify(s, 0, &report), STRATALOG_STATUS_CLOSED);
    CHECK(report.events == 0x7777777777777777ULL); /* not written */
    CHECK_STATUS(stratalog_sync(s), STRATALOG_STATUS_CLOSED);
    CHECK_STATUS(stratalog_sync_stream(s, 0), STRATALOG_STATUS_CLOSED);
    CHECK_STATUS(stratalog_streams(s, &list), STRATALOG_STATUS_CLOSED);
    CHECK_STATUS(stratalog_iter_new(s, 0, 0, &it), STRATALOG_STATUS_CLOSED);
    CHECK(ev == NULL && list == NULL && it == NULL);
    stratalog_close(s);
}

static void test_verify_against_detects_truncation_and_rewrites(void)
{
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open_in_memory(NULL, &s));
    stratalog_head at2, at5, report_head;
    for (int i = 0; i < 5; i++) {
        stratalog_head h;
        CHECK_OK(append_text(s, 0, VECTOR_EVENTS[i % 4], &h));
        if (i == 1)
            at2 = h;
        at5 = h;
    }
    stratalog_verify_report report;
    CHECK_OK(stratalog_verify_against(s, 0, &at2, &report));
    CHECK(report.events == 5);
    report_head = report.head;
    CHECK(heads_equal(&report_head, &at5));

    /* A head the stream never had: rewritten history. */
    stratalog_head forged = at2;
    forged.hash[7] ^= 1;
    CHECK_STATUS(stratalog_verify_against(s, 0, &forged, &report), STRATALOG_STATUS_CHAIN_MISMATCH);
    CHECK(report.failed_offset == 1);
    CHECK(report.events == 0);
    /* A head past the end: truncated or rolled back. */
    stratalog_head longer = at5;
    longer.next_offset = 9;
    CHECK_STATUS(stratalog_verify_against(s, 0, &longer, &report), STRATALOG_STATUS_CHAIN_MISMATCH);
    CHECK(report.failed_offset == 5);
    stratalog_error_detail d;
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.stream == 0 && d.offset == 5);
    stratalog_close(s);
}

/* Writes 10 events "event-0".."event-9" (7 bytes each, one record of 67
 * bytes each, no checkpoints) to stream 2 of a new store at `path`. */
static void write_ten_events(const char *path, stratalog_head *head)
{
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, NULL, &s));
    for (int i = 0; i < 10; i++) {
        char text[32];
        snprintf(text, sizeof text, "event-%d", i);
        CHECK_OK(append_text(s, 2, text, head));
    }
    CHECK_OK(stratalog_sync(s));
    stratalog_close(s);
}

static void flip_byte(const char *file, long pos)
{
    int fd = open(file, O_RDWR);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    unsigned char b = 0;
    CHECK(pread(fd, &b, 1, pos) == 1);
    b ^= 0x20;
    CHECK(pwrite(fd, &b, 1, pos) == 1);
    close(fd);
}

static void test_flipped_byte_is_found(void)
{
    /* Twice: with the tail marker a clean close leaves (open reads only the
     * last record, so the damage is found by reads and verify, as in a
     * sealed segment), and without it (open scans the active segment and
     * finds the damage itself). */
    for (int with_marker = 1; with_marker >= 0; with_marker--) {
        char path[4200], seg[4400], marker[4400];
        fresh_path(path, sizeof path, with_marker ? "flip-marked" : "flip-unmarked");
        stratalog_head head;
        write_ten_events(path, &head);
        segment_path(seg, sizeof seg, path, 2, 0);
        CHECK(file_size(seg) == 80 + 10 * 67);
        snprintf(marker, sizeof marker, "%s/streams/%020d/TAIL", path, 2);
        CHECK(file_size(marker) > 0);
        if (!with_marker)
            CHECK(unlink(marker) == 0);
        /* A payload byte of the event at offset 4. */
        flip_byte(seg, 80 + 4 * 67 + 56 + 3);

        const char *modes[2] = {"writer", "read-only"};
        for (int m = 0; m < 2; m++) {
            stratalog_store *s = NULL;
            if (m == 0)
                CHECK_OK(stratalog_open(path, NULL, &s));
            else
                CHECK_OK(stratalog_open_read_only(path, &s));
            if (s == NULL)
                continue;
            stratalog_verify_report report;
            memset(&report, 0, sizeof report);
            stratalog_status st = stratalog_verify(s, 2, &report);
            CHECK(st == STRATALOG_STATUS_CORRUPTION || st == STRATALOG_STATUS_CHAIN_MISMATCH);
            CHECK(report.failed_offset == 4);
            stratalog_error_detail d;
            CHECK(stratalog_last_error_detail(&d));
            CHECK(d.status == st && d.stream == 2 && d.offset == 4);
            if (report.failed_offset != 4)
                fprintf(stderr, "%s: verify: %s (failed_offset %" PRIu64 ")\n", modes[m],
                        stratalog_last_error(), report.failed_offset);
            /* The damage was not "repaired" away: the file is intact on disk. */
            CHECK(file_size(seg) == 80 + 10 * 67);
            /* The intact prefix stays readable. */
            stratalog_events *ev = NULL;
            if (stratalog_read_from(s, 2, 0, 4 * 7, &ev) == STRATALOG_STATUS_OK) {
                CHECK(stratalog_events_len(ev) == 4);
                stratalog_events_free(ev);
            } else {
                CHECK(!"the events before the damage should be readable");
            }
            /* A read never returns a damaged event: one that reaches the
             * damage stops before it (when open found it, the stream ends
             * there) or fails naming its offset. */
            ev = NULL;
            st = stratalog_read_from(s, 2, 0, 1000, &ev);
            if (with_marker) {
                CHECK(st == STRATALOG_STATUS_CORRUPTION && ev == NULL);
            } else {
                CHECK(st == STRATALOG_STATUS_OK);
                CHECK(stratalog_events_len(ev) == 4);
                stratalog_events_free(ev);
            }
            ev = NULL;
            CHECK_STATUS(stratalog_read_from(s, 2, 5, 1000, &ev), STRATALOG_STATUS_CORRUPTION);
            CHECK(ev == NULL);
            CHECK(stratalog_last_error_detail(&d) && d.offset == 4);
            CHECK(strstr(stratalog_last_error(), ".seg") != NULL);
            stratalog_head h;
            if (with_marker) {
                /* The head is the marker's, confirmed by the last record. */
                CHECK_OK(stratalog_chain_head(s, 2, &h));
                CHECK(heads_equal(&h, &head));
            } else {
                CHECK_STATUS(stratalog_chain_head(s, 2, &h), STRATALOG_STATUS_CORRUPTION);
                if (m == 0)
                    CHECK_STATUS(append_text(s, 2, "more", NULL), STRATALOG_STATUS_CORRUPTION);
            }
            stratalog_close(s);
        }
    }
}

static void test_flipped_byte_in_sealed_segment_is_found(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "flip-sealed");
    stratalog_options o = small_options();
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    /* 100-byte events: a 4096-byte segment holds 25 records of 160 bytes
     * (plus checkpoints), so 200 events span several segments. */
    char text[101];
    for (int i = 0; i < 200; i++) {
        memset(text, 'a' + i % 26, 100);
        text[100] = '\0';
        CHECK_OK(append_text(s, 9, text, NULL));
    }
    stratalog_close(s);
    char seg[4400];
    segment_path(seg, sizeof seg, path, 9, 0);
    CHECK(file_size(seg) > 0 && file_size(seg) <= 4096);
    /* Offset 2 is the third record; the first checkpoint (before offset 3)
     * comes after it. */
    flip_byte(seg, 80 + 2 * 160 + 56 + 50);

    s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s)); /* sealed segments are not read at open */
    stratalog_verify_report report;
    stratalog_status st = stratalog_verify(s, 9, &report);
    CHECK(st == STRATALOG_STATUS_CORRUPTION || st == STRATALOG_STATUS_CHAIN_MISMATCH);
    CHECK(report.failed_offset == 2);
    /* Iterated one event at a time and in batches, the damaged stream
     * gives the same events and then the same failure, at offset 2. */
    uint64_t single_events = 0, single_failed_at = UINT64_MAX;
    stratalog_status single_status = STRATALOG_STATUS_OK;
    stratalog_iter *it = NULL;
    CHECK_OK(stratalog_iter_new(s, 9, 0, &it));
    for (;;) {
        bool has = false;
        uint64_t at = 0;
        const uint8_t *data = NULL;
        size_t len = 0;
        single_status = stratalog_iter_next(it, &has, &at, &data, &len);
        if (single_status != STRATALOG_STATUS_OK) {
            stratalog_error_detail d;
            CHECK(stratalog_last_error_detail(&d));
            single_failed_at = d.offset;
            break;
        }
        if (!has)
            break;
        CHECK(at == single_events && len == 100);
        single_events++;
    }
    stratalog_iter_free(it);
    CHECK(single_status == STRATALOG_STATUS_CORRUPTION ||
          single_status == STRATALOG_STATUS_CHAIN_MISMATCH);
    CHECK(single_failed_at == 2 && single_events == 2);

    uint64_t batch_events = 0, batch_failed_at = UINT64_MAX;
    stratalog_status batch_status = STRATALOG_STATUS_OK;
    it = NULL;
    CHECK_OK(stratalog_iter_new(s, 9, 0, &it));
    for (;;) {
        const uint8_t *data[64];
        size_t lens[64];
        size_t count = 0;
        uint64_t first = 0;
        batch_status = stratalog_iter_next_batch(it, 64, UINT64_MAX, &count, &first, data, lens);
        if (batch_status != STRATALOG_STATUS_OK) {
            stratalog_error_detail d;
            CHECK(stratalog_last_error_detail(&d));
            batch_failed_at = d.offset;
            break;
        }
        if (count == 0)
            break;
        CHECK(first == batch_events);
        for (size_t i = 0; i < count; i++)
            CHECK(lens[i] == 100 && data[i][0] == 'a' + (first + i) % 26);
        batch_events += count;
    }
    CHECK(batch_status == single_status && batch_failed_at == single_failed_at);
    CHECK(batch_events == single_events);
    /* After the failure: the end, every time. */
    size_t count = 99;
    uint64_t first = 0;
    const uint8_t *data[4];
    size_t lens[4];
    CHECK_OK(stratalog_iter_next_batch(it, 4, UINT64_MAX, &count, &first, data, lens));
    CHECK(count == 0);
    stratalog_iter_free(it);

    /* A failure a batch held back is reported once, also when the
     * iterator is extended before the next call. */
    it = NULL;
    CHECK_OK(stratalog_iter_new(s, 9, 0, &it));
    CHECK_OK(stratalog_iter_next_batch(it, 64, UINT64_MAX, &count, &first, data, lens));
    CHECK(count == 2 && first == 0);
    CHECK_OK(stratalog_iter_extend(s, it));
    CHECK(stratalog_iter_next_batch(it, 4, UINT64_MAX, &count, &first, data, lens) == single_status);
    CHECK_OK(stratalog_iter_next_batch(it, 4, UINT64_MAX, &count, &first, data, lens));
    CHECK(count == 0);
    stratalog_iter_free(it);

    /* Appends to the intact tail still work; verification still fails. */
    CHECK_OK(append_text(s, 9, "tail", NULL));
    CHECK(stratalog_verify(s, 9, NULL) != STRATALOG_STATUS_OK);
    stratalog_close(s);
}

/* stratalog_iter_next_batch: the same events as stratalog_iter_next, in
 * batches bounded by count and by bytes, mixed freely with single steps,
 * taken on by stratalog_iter_extend; bad arguments leave the outputs as
 * they were. */
static void test_iter_next_batch(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "iter-batch");
    stratalog_options o = small_options();
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    if (s == NULL)
        return;
    for (uint64_t i = 0; i < 200; i++) {
        char text[256];
        numbered_event(i, text, sizeof text);
        CHECK_OK(append_text(s, 1, text, NULL));
    }

    enum { MAX = 7 };
    const uint8_t *data[MAX];
    size_t lens[MAX];
    size_t count = 99;
    uint64_t first = 0;
    stratalog_iter *it = NULL;
    CHECK_OK(stratalog_iter_new(s, 1, 3, &it));
    uint64_t expect = 3;
    size_t batches = 0;
    for (;;) {
        CHECK_OK(stratalog_iter_next_batch(it, MAX, UINT64_MAX, &count, &first, data, lens));
        CHECK(count <= MAX);
        if (count == 0)
            break;
        batches++;
        CHECK(first == expect);
        for (size_t i = 0; i < count; i++) {
            char want[256];
            numbered_event(first + i, want, sizeof want);
            CHECK(data[i] != NULL && lens[i] == strlen(want) && memcmp(data[i], want, lens[i]) == 0);
        }
        expect += count;
    }
    CHECK(expect == 200);
    CHECK(batches == (200 - 3 + MAX - 1) / MAX); /* full batches, whatever the segments */
    CHECK(first == 200); /* at the end: the next offset */
    count = 99;
    CHECK_OK(stratalog_iter_next_batch(it, MAX, UINT64_MAX, &count, &first, data, lens));
    CHECK(count == 0);

    /* The stream grows; extend takes the iterator on, batch or single. */
    CHECK_OK(append_text(s, 1, "two hundred", NULL));
    CHECK_OK(append_text(s, 1, "two hundred and one", NULL));
    CHECK_OK(stratalog_iter_extend(s, it));
    CHECK_OK(stratalog_iter_next_batch(it, MAX, UINT64_MAX, &count, &first, data, lens));
    CHECK(count == 2 && first == 200);
    CHECK(count == 2 && lens[0] == 11 && memcmp(data[0], "two hundred", 11) == 0);
    CHECK(count == 2 && lens[1] == 19 && memcmp(data[1], "two hundred and one", 19) == 0);
    stratalog_iter_free(it);

    /* max_bytes: a batch ends after the event that reaches it, and holds
     * at least one. */
    it = NULL;
    CHECK_OK(stratalog_iter_new(s, 1, 0, &it));
    size_t want_lens[3];
    for (uint64_t i = 0; i < 3; i++) {
        char want[256];
        numbered_event(i, want, sizeof want);
        want_lens[i] = strlen(want);
    }
    CHECK_OK(stratalog_iter_next_batch(it, MAX, 1, &count, &first, data, lens));
    CHECK(count == 1 && first == 0 && lens[0] == want_lens[0]);
    CHECK_OK(stratalog_iter_next_batch(it, MAX, want_lens[1] + 1, &count, &first, data, lens));
    CHECK(count == 2 && first == 1);
    /* A single step goes on where the batch stopped, and a batch after it. */
    bool has = false;
    uint64_t at = 0;
    const uint8_t *one = NULL;
    size_t one_len = 0;
    CHECK_OK(stratalog_iter_next(it, &has, &at, &one, &one_len));
    CHECK(has && at == 3);
    CHECK_OK(stratalog_iter_next_batch(it, MAX, 0, &count, &first, data, lens)); /* still one */
    CHECK(count == 1 && first == 4);

    /* Bad arguments: a status, and the outputs untouched. */
    count = 99;
    first = 77;
    CHECK_STATUS(stratalog_iter_next_batch(it, 0, UINT64_MAX, &count, &first, data, lens),
                 STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(count == 99 && first == 77);
    CHECK_STATUS(stratalog_iter_next_batch(NULL, MAX, UINT64_MAX, &count, &first, data, lens),
                 STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_iter_next_batch(it, MAX, UINT64_MAX, NULL, &first, data, lens),
                 STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_iter_next_batch(it, MAX, UINT64_MAX, &count, NULL, data, lens),
                 STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_iter_next_batch(it, MAX, UINT64_MAX, &count, &first, NULL, lens),
                 STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_iter_next_batch(it, MAX, UINT64_MAX, &count, &first, data, NULL),
                 STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK(count == 99 && first == 77);
    /* None of them moved the iterator. */
    CHECK_OK(stratalog_iter_next_batch(it, 1, UINT64_MAX, &count, &first, data, lens));
    CHECK(count == 1 && first == 5);
    stratalog_iter_free(it);
    stratalog_close(s);
}

static void test_torn_tail_is_repaired_on_reopen(void)
{
    char path[4200], seg[4400];
    fresh_path(path, sizeof path, "torn");
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, NULL, &s));
    stratalog_slice first[3] = {slice_of("one"), slice_of("two"), slice_of("three")};
    stratalog_slice second[3] = {slice_of("four"), slice_of("five"), slice_of("six")};
    stratalog_head after_first, after_second;
    CHECK_OK(stratalog_append_batch(s, 0, first, 3, &(uint64_t){0}, STRATALOG_FSYNC_YES, &after_first));
    segment_path(seg, sizeof seg, path, 0, 0);
    long first_size = file_size(seg);
    CHECK_OK(stratalog_append_batch(s, 0, second, 3, &(uint64_t){3}, STRATALOG_FSYNC_YES, &after_second));
    long full_size = file_size(seg);
    CHECK(full_size > first_size);
    /* A clean open found nothing to cut. */
    const stratalog_torn_tail *torn = (const stratalog_torn_tail *)1;
    size_t torn_count = 99;
    CHECK_OK(stratalog_torn_tails(s, &torn, &torn_count));
    CHECK(torn == NULL && torn_count == 0);
    stratalog_close(s);

    /* A crash in the middle of the second batch: its last record is cut,
     * and the writer's OPEN marker (removed by a clean close) stays. */
    CHECK(truncate(seg, full_size - 5) == 0);
    char open_marker[4300];
    snprintf(open_marker, sizeof open_marker, "%s/OPEN", path);
    FILE *marker = fopen(open_marker, "w");
    CHECK(marker != NULL);
    if (marker != NULL)
        fclose(marker);

    /* A reader sees the first batch and leaves the file alone. */
    s = NULL;
    CHECK_OK(stratalog_open_read_only(path, &s));
    stratalog_head head;
    CHECK_OK(stratalog_chain_head(s, 0, &head));
    CHECK(heads_equal(&head, &after_first));
    /* ... and says what it ignored. */
    CHECK_OK(stratalog_torn_tails(s, &torn, &torn_count));
    CHECK(torn_count == 1 && torn != NULL);
    if (torn_count == 1) {
        CHECK(torn[0].stream == 0 && torn[0].kept_len == (uint64_t)first_size);
        CHECK(torn[0].dropped_bytes == (uint64_t)(full_size - 5 - first_size));
        CHECK(strstr(torn[0].segment, "00000000000000000000.seg") != NULL);
    }
    CHECK_STATUS(stratalog_torn_tails(s, NULL, &torn_count), STRATALOG_STATUS_NULL_ARGUMENT);
    stratalog_close(s);
    CHECK(file_size(seg) == full_size - 5);

    /* A writer cuts the torn batch off, whole, while opening (the last
     * writer did not close, so every stream is recovered at open), and
     * says so. */
    s = NULL;
    CHECK_OK(stratalog_open(path, NULL, &s));
    CHECK(file_size(seg) == first_size);
    CHECK_OK(stratalog_torn_tails(s, &torn, &torn_count));
    CHECK(torn_count == 1 && torn[0].kept_len == (uint64_t)first_size);
    CHECK(torn[0].dropped_bytes == (uint64_t)(full_size - 5 - first_size));
    CHECK_OK(stratalog_chain_head(s, 0, &head));
    CHECK(heads_equal(&head, &after_first));
    stratalog_events *ev = NULL;
    CHECK_OK(stratalog_read_from(s, 0, 0, 1000, &ev));
    CHECK(stratalog_events_len(ev) == 3);
    stratalog_events_free(ev);
    CHECK_OK(stratalog_verify(s, 0, NULL));
    /* ... and the stream goes on from there, to the same chain as before. */
    CHECK_OK(stratalog_append_batch(s, 0, second, 3, &(uint64_t){3}, STRATALOG_FSYNC_YES, &head));
    CHECK(heads_equal(&head, &after_second));
    stratalog_close(s);
}

/* ---- threads ------------------------------------------------------------ */

enum { WRITERS = 4, READERS = 2, BATCHES = 150, SHARED_STREAM = 100 };

struct thread_arg {
    stratalog_store *store;
    int id;
    int errors;
    volatile int *stop;
};

static void writer_event(uint64_t stream, uint64_t offset, char *buf, size_t len)
{
    snprintf(buf, len, "s%" PRIu64 "-o%" PRIu64 "-%.*s", stream, offset, (int)(offset % 30),
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static void *writer_main(void *p)
{
    struct thread_arg *arg = p;
    uint64_t stream = (uint64_t)arg->id;
    for (int b = 0; b < BATCHES; b++) {
        /* Own stream: two events per batch, offsets known in advance. */
        char t0[128], t1[128];
        uint64_t base = (uint64_t)b * 2;
        writer_event(stream, base, t0, sizeof t0);
        writer_event(stream, base + 1, t1, sizeof t1);
        stratalog_slice batch[2] = {slice_of(t0), slice_of(t1)};
        stratalog_head head;
        if (stratalog_append_batch(arg->store, stream, batch, 2, &base, STRATALOG_FSYNC_NO, &head) != STRATALOG_STATUS_OK ||
            head.next_offset != base + 2)
            arg->errors++;
        /* The shared stream: whoever comes first. */
        char shared[64];
        snprintf(shared, sizeof shared, "shared from %d #%d", arg->id, b);
        if (append_text(arg->store, SHARED_STREAM, shared, NULL) != STRATALOG_STATUS_OK)
            arg->errors++;
    }
    return NULL;
}

static void *reader_main(void *p)
{
    struct thread_arg *arg = p;
    while (!*arg->stop) {
        for (uint64_t stream = 0; stream < WRITERS; stream++) {
            stratalog_events *ev = NULL;
            if (stratalog_read_from(arg->store, stream, 0, 4000, &ev) != STRATALOG_STATUS_OK) {
                arg->errors++;
                continue;
            }
            for (size_t i = 0; i < stratalog_events_len(ev); i++) {
                const uint8_t *data;
                size_t len;
                char want[128];
                writer_event(stream, i, want, sizeof want);
                if (stratalog_events_get(ev, i, &data, &len) != STRATALOG_STATUS_OK || len != strlen(want) ||
                    memcmp(data, want, len) != 0)
                    arg->errors++;
            }
            stratalog_events_free(ev);
        }
        stratalog_head head;
        if (stratalog_chain_head(arg->store, SHARED_STREAM, &head) != STRATALOG_STATUS_OK)
            arg->errors++;
        stratalog_verify_report report;
        if (stratalog_verify(arg->store, SHARED_STREAM, &report) != STRATALOG_STATUS_OK ||
            report.events < head.next_offset)
            arg->errors++;
    }
    return NULL;
}

static void test_threads_share_one_handle(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "threads");
    stratalog_options o = small_options();
    o.segment_size = 16384;
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    volatile int stop = 0;
    pthread_t writers[WRITERS], readers[READERS];
    struct thread_arg wargs[WRITERS], rargs[READERS];
    for (int i = 0; i < WRITERS; i++) {
        wargs[i] = (struct thread_arg){s, i, 0, &stop};
        CHECK(pthread_create(&writers[i], NULL, writer_main, &wargs[i]) == 0);
    }
    for (int i = 0; i < READERS; i++) {
        rargs[i] = (struct thread_arg){s, i, 0, &stop};
        CHECK(pthread_create(&readers[i], NULL, reader_main, &rargs[i]) == 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        CHECK(pthread_join(writers[i], NULL) == 0);
        CHECK(wargs[i].errors == 0);
    }
    stop = 1;
    for (int i = 0; i < READERS; i++) {
        CHECK(pthread_join(readers[i], NULL) == 0);
        CHECK(rargs[i].errors == 0);
    }

    for (uint64_t stream = 0; stream < WRITERS; stream++) {
        stratalog_verify_report report;
        CHECK_OK(stratalog_verify(s, stream, &report));
        CHECK(report.events == (uint64_t)BATCHES * 2);
    }
    stratalog_head shared;
    CHECK_OK(stratalog_chain_head(s, SHARED_STREAM, &shared));
    CHECK(shared.next_offset == (uint64_t)WRITERS * BATCHES);
    /* Every writer's shared events are there, in its own order. */
    int next_seen[WRITERS] = {0};
    stratalog_iter *it = NULL;
    CHECK_OK(stratalog_iter_new(s, SHARED_STREAM, 0, &it));
    for (;;) {
        bool has;
        uint64_t at;
        const uint8_t *data;
        size_t len;
        CHECK_OK(stratalog_iter_next(it, &has, &at, &data, &len));
        if (!has)
            break;
        char text[64];
        int who = -1, n = -1;
        snprintf(text, sizeof text, "%.*s", (int)len, (const char *)data);
        CHECK(sscanf(text, "shared from %d #%d", &who, &n) == 2);
        CHECK(who >= 0 && who < WRITERS);
        if (who >= 0 && who < WRITERS) {
            CHECK(n == next_seen[who]);
            next_seen[who] = n + 1;
        }
    }
    stratalog_iter_free(it);
    for (int i = 0; i < WRITERS; i++)
        CHECK(next_seen[i] == BATCHES);
    stratalog_close(s);
}

/* ---- main --------------------------------------------------------------- */

static void test_stats_names_and_durability(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "stats");
    stratalog_options o = small_options();
    o.fsync = true; /* what STRATALOG_FSYNC_DEFAULT picks */
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));

    /* A stream that does not exist has all zeros; NULL output is refused. */
    stratalog_stream_stats st;
    memset(&st, 0x5a, sizeof st);
    CHECK_OK(stratalog_get_stream_stats(s, 3, &st));
    CHECK(st.segments == 0 && st.bytes == 0 && st.first_offset == 0 && st.next_offset == 0);
    CHECK_STATUS(stratalog_get_stream_stats(s, 3, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_get_stream_stats(NULL, 3, &st), STRATALOG_STATUS_NULL_ARGUMENT);

    /* Every fsync value appends; any other is refused before writing. */
    stratalog_fsync modes[3] = {STRATALOG_FSYNC_DEFAULT, STRATALOG_FSYNC_NO, STRATALOG_FSYNC_YES};
    for (uint64_t i = 0; i < 300; i++) {
        char text[256];
        numbered_event(i, text, sizeof text);
        stratalog_slice sl = slice_of(text);
        CHECK_OK(stratalog_append_batch(s, 3, &sl, 1, &i, modes[i % 3], NULL));
    }
    stratalog_slice one = slice_of("one");
    CHECK_STATUS(stratalog_append_batch(s, 3, &one, 1, NULL, 3, NULL), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "STRATALOG_FSYNC_DEFAULT") != NULL);

    /* The stats agree with the files: segments and their sizes. */
    CHECK_OK(stratalog_get_stream_stats(s, 3, &st));
    CHECK(st.next_offset == 300 && st.first_offset == 0);
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/streams/00000000000000000003", path);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    uint64_t files = 0, bytes = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".seg") == 0) {
            char file[4800];
            struct stat sb;
            snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
            CHECK(stat(file, &sb) == 0);
            files++;
            bytes += (uint64_t)sb.st_size;
        }
    }
    if (d)
        closedir(d);
    CHECK(st.segments == files && files > 1);
    CHECK(st.bytes == bytes);

    /* Codec names, both ways, and the options a store reports. */
    CHECK(strcmp(stratalog_compression_name(STRATALOG_COMPRESSION_NONE), "none") == 0);
    CHECK(strcmp(stratalog_compression_name(STRATALOG_COMPRESSION_LZ4), "lz4") == 0);
    CHECK(strcmp(stratalog_compression_name(STRATALOG_COMPRESSION_ZSTD), "zstd") == 0);
    CHECK(stratalog_compression_name(3) == NULL);
    stratalog_compression c = STRATALOG_COMPRESSION_NONE;
    CHECK_OK(stratalog_compression_parse("ZSTD", &c));
    CHECK(c == STRATALOG_COMPRESSION_ZSTD);
    CHECK_STATUS(stratalog_compression_parse("gzip", &c), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(c == STRATALOG_COMPRESSION_ZSTD);
    CHECK_STATUS(stratalog_compression_parse(NULL, &c), STRATALOG_STATUS_NULL_ARGUMENT);
    stratalog_close(s);

    /* The same numbers after a reopen, read-only. */
    s = NULL;
    CHECK_OK(stratalog_open_read_only(path, &s));
    stratalog_stream_stats again;
    CHECK_OK(stratalog_get_stream_stats(s, 3, &again));
    CHECK(again.segments == st.segments && again.bytes == st.bytes && again.next_offset == 300);
    stratalog_close(s);
}

/* The child's half of test_fork: returns 0 when every check holds, else
 * the number of the first that failed. */
static int forked_child_checks(stratalog_store *s, const char *path)
{
    stratalog_slice sl = slice_of("child");
    if (stratalog_append_batch(s, 1, &sl, 1, NULL, STRATALOG_FSYNC_YES, NULL) != STRATALOG_STATUS_FORKED)
        return 1;
    if (strstr(stratalog_last_error(), "fork") == NULL)
        return 2;
    if (stratalog_sync(s) != STRATALOG_STATUS_FORKED)
        return 3;
    stratalog_events *ev = NULL;
    if (stratalog_read_from(s, 1, 0, 1000, &ev) != STRATALOG_STATUS_OK || stratalog_events_len(ev) != 1)
        return 4;
    stratalog_events_free(ev);
    stratalog_store *other = NULL;
    if (stratalog_open(path, NULL, &other) != STRATALOG_STATUS_LOCKED)
        return 5;
    if (stratalog_shutdown(s) != STRATALOG_STATUS_OK)
        return 6;
    return 0;
}

static void test_fork(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "fork");
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, NULL, &s));
    stratalog_head before, after;
    CHECK_OK(append_text(s, 1, "before", &before));
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(forked_child_checks(s, path));
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "fork: the child's check %d failed\n", WEXITSTATUS(status));
    CHECK(WEXITSTATUS(status) == 0);

    /* The parent kept its lock and goes on; the child wrote nothing. */
    stratalog_store *other = NULL;
    CHECK_STATUS(stratalog_open(path, NULL, &other), STRATALOG_STATUS_LOCKED);
    CHECK_OK(append_text(s, 1, "parent", &after));
    CHECK(after.next_offset == before.next_offset + 1);
    stratalog_close(s);
    s = NULL;
    CHECK_OK(stratalog_open(path, NULL, &s));
    stratalog_events *ev = NULL;
    CHECK_OK(stratalog_read_from(s, 1, 0, 1000, &ev));
    CHECK(stratalog_events_len(ev) == 2);
    const char *want[2] = {"before", "parent"};
    for (size_t i = 0; i < 2 && i < stratalog_events_len(ev); i++) {
        const uint8_t *data;
        size_t len;
        CHECK_OK(stratalog_events_get(ev, i, &data, &len));
        CHECK(len == strlen(want[i]) && memcmp(data, want[i], len) == 0);
    }
    stratalog_events_free(ev);
    CHECK_OK(stratalog_verify_against(s, 1, &after, NULL));
    stratalog_close(s);
}

struct waiter_arg {
    stratalog_store *store;
    uint64_t stream, offset, timeout_ms, next;
    stratalog_status status;
};

static void *waiter_main(void *p)
{
    struct waiter_arg *w = p;
    w->status = stratalog_wait(w->store, w->stream, w->offset, w->timeout_ms, &w->next);
    return NULL;
}

static void test_wait(void)
{
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open_in_memory(NULL, &s));
    CHECK_OK(append_text(s, 2, "one", NULL));
    uint64_t next = 0;
    CHECK_OK(stratalog_wait(s, 2, 0, 0, &next)); /* already past: at once */
    CHECK(next == 1);
    CHECK_STATUS(stratalog_wait(s, 2, 1, 20, &next), STRATALOG_STATUS_TIMEOUT);
    stratalog_error_detail d;
    CHECK(stratalog_last_error_detail(&d) && d.stream == 2 && d.offset == 1);
    CHECK(next == 1); /* not written on failure */
    CHECK_STATUS(stratalog_wait(NULL, 2, 1, 20, &next), STRATALOG_STATUS_NULL_ARGUMENT);

    /* An append from another thread wakes a waiter, forever or bounded. */
    struct waiter_arg w = {s, 2, 1, UINT64_MAX, 0, STRATALOG_STATUS_PANIC};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, waiter_main, &w) == 0);
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    CHECK_OK(append_text(s, 2, "two", NULL));
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(w.status == STRATALOG_STATUS_OK && w.next == 2);

    /* Shutdown ends a waiter with CLOSED. */
    struct waiter_arg v = {s, 8, 0, 60 * 1000, 0, STRATALOG_STATUS_PANIC};
    CHECK(pthread_create(&t, NULL, waiter_main, &v) == 0);
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    CHECK_OK(stratalog_shutdown(s));
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(v.status == STRATALOG_STATUS_CLOSED);
    stratalog_close(s);

    /* A read-only handle follows a writer in a child process: the wait
     * takes in what the child committed, and reads see it. */
    char path[4200];
    fresh_path(path, sizeof path, "follow");
    stratalog_store *w1 = NULL, *r = NULL;
    CHECK_OK(stratalog_open(path, NULL, &w1));
    CHECK_OK(append_text(w1, 4, "before", NULL));
    CHECK_OK(stratalog_shutdown(w1));
    stratalog_close(w1);
    CHECK_OK(stratalog_open_read_only(path, &r));
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        stratalog_store *cw = NULL;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
        int ok = stratalog_open(path, NULL, &cw) == STRATALOG_STATUS_OK &&
                 append_text(cw, 4, "from the child", NULL) == STRATALOG_STATUS_OK &&
                 stratalog_shutdown(cw) == STRATALOG_STATUS_OK;
        _exit(ok ? 0 : 1);
    }
    CHECK(child > 0);
    next = 0;
    CHECK_OK(stratalog_wait(r, 4, 1, 30 * 1000, &next));
    CHECK(next == 2);
    int status = -1;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    stratalog_events *ev = NULL;
    CHECK_OK(stratalog_read_from(r, 4, 1, UINT64_MAX, &ev));
    const uint8_t *data = NULL;
    size_t len = 0;
    CHECK(ev != NULL && stratalog_events_len(ev) == 1);
    CHECK_OK(stratalog_events_get(ev, 0, &data, &len));
    CHECK(len == strlen("from the child") && memcmp(data, "from the child", len) == 0);
    stratalog_events_free(ev);
    CHECK_STATUS(stratalog_wait(r, 4, 2, 20, &next), STRATALOG_STATUS_TIMEOUT);
    stratalog_close(r);
}

static int open_descriptors(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Issue 14: named consumer cursors, from a writer and a read-only handle. */
static void test_cursors(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "cursors");
    stratalog_store *s = NULL, *r = NULL;
    CHECK_OK(stratalog_open(path, NULL, &s));
    stratalog_slice three[3] = {slice_of("a"), slice_of("b"), slice_of("c")};
    stratalog_head head;
    CHECK_OK(stratalog_append_batch(s, 1, three, 3, NULL, STRATALOG_FSYNC_NO, &head));
    uint64_t at = 99;
    CHECK_OK(stratalog_cursor_get(s, 1, "siem-export", &at));
    CHECK(at == 0); /* never committed */
    CHECK_OK(stratalog_cursor_commit(s, 1, "siem-export", 2));
    CHECK_OK(stratalog_cursor_get(s, 1, "siem-export", &at));
    CHECK(at == 2);
    /* Past the end: refused, with the detail. */
    CHECK_STATUS(stratalog_cursor_commit(s, 1, "siem-export", 4), STRATALOG_STATUS_OFFSET_OUT_OF_RANGE);
    stratalog_error_detail d;
    CHECK(stratalog_last_error_detail(&d) && d.stream == 1 && d.offset == 4 && d.next_offset == 3);
    CHECK_STATUS(stratalog_cursor_commit(s, 1, "a/b", 1), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "cursor name") != NULL);
    CHECK_STATUS(stratalog_cursor_commit(s, 1, NULL, 1), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_cursor_get(s, 1, "x", NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_cursor_get(NULL, 1, "x", &at), STRATALOG_STATUS_NULL_ARGUMENT);
    at = 7;
    CHECK_STATUS(stratalog_cursor_get(s, 1, ".x", &at), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(at == 7); /* not written on failure */

    /* A read-only handle commits its own cursor while the writer runs. */
    CHECK_OK(stratalog_open_read_only(path, &r));
    CHECK_OK(stratalog_cursor_commit(r, 1, "reader", 3));
    CHECK_OK(stratalog_cursor_get(s, 1, "reader", &at));
    CHECK(at == 3);
    stratalog_close(r);
    /* Cursors are not events. */
    stratalog_head now;
    CHECK_OK(stratalog_chain_head(s, 1, &now));
    CHECK(heads_equal(&now, &head));
    CHECK_OK(stratalog_shutdown(s));
    stratalog_close(s);

    /* Across a reopen. */
    CHECK_OK(stratalog_open(path, NULL, &s));
    CHECK_OK(stratalog_cursor_get(s, 1, "siem-export", &at));
    CHECK(at == 2);
    stratalog_close(s);
}

/* Issue 18: more streams than the process may open files. */
static void test_many_streams_few_descriptors(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "many");
    struct rlimit old, tight;
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    tight = old;
    tight.rlim_cur = 256; /* valgrind keeps some above the soft limit */
    CHECK(setrlimit(RLIMIT_NOFILE, &tight) == 0);

    stratalog_options o = small_options();
    o.max_open_files = 16;
    stratalog_store *s = NULL;
    int before = open_descriptors();
    CHECK_OK(stratalog_open(path, &o, &s));
    enum { STREAMS = 1000 };
    char text[64];
    for (uint64_t stream = 0; stream < STREAMS; stream++) {
        snprintf(text, sizeof text, "event of stream %" PRIu64, stream);
        CHECK_OK(append_text(s, stream, text, NULL));
    }
    int held = open_descriptors() - before;
    CHECK(held <= 16 + 2);
    stratalog_options got;
    CHECK_OK(stratalog_store_options(s, &got));
    CHECK(got.max_open_files == 16);
    for (uint64_t stream = 0; stream < STREAMS; stream += 37) {
        stratalog_events *ev = NULL;
        CHECK_OK(stratalog_read_from(s, stream, 0, UINT64_MAX, &ev));
        snprintf(text, sizeof text, "event of stream %" PRIu64, stream);
        CHECK(ev != NULL && stratalog_events_len(ev) == 1);
        const uint8_t *data = NULL;
        size_t len = 0;
        CHECK_OK(stratalog_events_get(ev, 0, &data, &len));
        CHECK(len == strlen(text) && memcmp(data, text, len) == 0);
        stratalog_events_free(ev);
    }
    CHECK_OK(stratalog_shutdown(s));
    stratalog_close(s);
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
}

/* ---- Merkle tree, checkpoints, receipts ------------------------------- */

static const char *const VECTOR_ROOTS[4] = {
    "1a8a4d9ed33e3920de25a66d4a1711b32fe9c2dd8af6eef3ebecb374a2b4422a",
    "88c00fab807d250dc1a629b2702c8ae79b2a4140a339fdee549849118dcfa726",
    "76622589fe6f2ceba0b87f3b2c32b432294a720f29be570afd2249dba0f3a804",
    "ed72fa3442d34f9e08b68d2a8896d24f52884b149b599899b5ac17e1bf7827fe",
};

static void hex32(const uint8_t *bytes, char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

static void test_proofs(void)
{
    char path[512];
    fresh_path(path, sizeof path, "proofs");
    stratalog_store *s = NULL;
    stratalog_options opts = small_options();
    CHECK_OK(stratalog_open(path, &opts, &s));
    for (int i = 0; i < 4; i++)
        CHECK_OK(append_text(s, 1, VECTOR_EVENTS[i], NULL));

    /* The roots of FORMAT.md's vectors. */
    for (uint64_t size = 1; size <= 4; size++) {
        uint8_t root[32];
        char hex[65];
        CHECK_OK(stratalog_tree_root(s, 1, size, &root));
        hex32(root, hex);
        CHECK(strcmp(hex, VECTOR_ROOTS[size - 1]) == 0);
    }
    uint8_t root[32], untouched[32];
    memset(untouched, 0xAA, sizeof untouched);
    memcpy(root, untouched, sizeof root);
    CHECK_STATUS(stratalog_tree_root(s, 1, 5, &root), STRATALOG_STATUS_OFFSET_OUT_OF_RANGE);
    CHECK(memcmp(root, untouched, sizeof root) == 0);
    CHECK_OK(stratalog_tree_root(s, 1, STRATALOG_SIZE_CURRENT, &root));

    /* Inclusion of event 2 in the tree of 4, checked with no store. */
    stratalog_proof *proof = NULL;
    CHECK_OK(stratalog_inclusion_proof(s, 1, 2, STRATALOG_SIZE_CURRENT, &proof));
    CHECK(stratalog_proof_len(proof) == 2);
    uint8_t leaf[STRATALOG_LEAF_DATA_SIZE];
    CHECK_OK(stratalog_leaf_data(s, 1, 2, &leaf));
    CHECK(leaf[0] == 2 && leaf[1] == 0);
    const uint8_t *hashes = stratalog_proof_data(proof);
    CHECK_OK(stratalog_verify_inclusion(2, 4, (const uint8_t(*)[32])root, hashes, 2, leaf, sizeof leaf));
    CHECK_STATUS(stratalog_verify_inclusion(1, 4, (const uint8_t(*)[32])root, hashes, 2, leaf, sizeof leaf),
                 STRATALOG_STATUS_VERIFICATION_FAILED);
    CHECK_STATUS(stratalog_verify_inclusion(2, 4, (const uint8_t(*)[32])root, hashes, 1, leaf, sizeof leaf),
                 STRATALOG_STATUS_VERIFICATION_FAILED);
    stratalog_proof_free(proof);
    stratalog_proof_free(NULL);
    CHECK(stratalog_proof_len(NULL) == 0 && stratalog_proof_data(NULL) == NULL);
    proof = NULL;
    CHECK_STATUS(stratalog_inclusion_proof(s, 1, 4, 4, &proof), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(proof == NULL);

    /* Consistency from 3 to 4. */
    uint8_t old_root[32];
    CHECK_OK(stratalog_tree_root(s, 1, 3, &old_root));
    CHECK_OK(stratalog_consistency_proof(s, 1, 3, 4, &proof));
    CHECK(stratalog_proof_len(proof) == 3);
    CHECK_OK(stratalog_verify_consistency(3, 4, (const uint8_t(*)[32])old_root,
                                          (const uint8_t(*)[32])root, stratalog_proof_data(proof), 3));
    CHECK_STATUS(stratalog_verify_consistency(2, 4, (const uint8_t(*)[32])old_root,
                                              (const uint8_t(*)[32])root, stratalog_proof_data(proof), 3),
                 STRATALOG_STATUS_VERIFICATION_FAILED);
    stratalog_proof_free(proof);

    /* Keys: generated, saved, loaded, as text. */
    stratalog_signing_key *key = NULL, *again = NULL, *bad = NULL;
    CHECK_STATUS(stratalog_signing_key_generate("has space", &key), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(key == NULL);
    CHECK_OK(stratalog_signing_key_generate("example.com/c-test", &key));
    char keyfile[600];
    snprintf(keyfile, sizeof keyfile, "%s.key", path);
    CHECK_OK(stratalog_signing_key_save(key, keyfile));
    CHECK_STATUS(stratalog_signing_key_save(key, keyfile), STRATALOG_STATUS_IO);
    CHECK_OK(stratalog_signing_key_load(keyfile, &again));
    char *vkey = NULL, *vkey_again = NULL, *text = NULL;
    CHECK_OK(stratalog_signing_key_vkey(key, &vkey));
    CHECK_OK(stratalog_signing_key_vkey(again, &vkey_again));
    CHECK(strcmp(vkey, vkey_again) == 0);
    CHECK(strncmp(vkey, "example.com/c-test+", 19) == 0);
    CHECK_OK(stratalog_signing_key_to_text(key, &text));
    CHECK(strncmp(text, "PRIVATE+KEY+example.com/c-test+", 31) == 0);
    stratalog_signing_key_free(again);
    again = NULL;
    CHECK_OK(stratalog_signing_key_from_text(text, &again));
    CHECK_STATUS(stratalog_signing_key_from_text(vkey, &bad), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(bad == NULL);
    stratalog_string_free(text);
    stratalog_string_free(NULL);
    stratalog_signing_key_free(NULL);

    /* A checkpoint, verified; a smaller size is refused afterwards. */
    char *note = NULL;
    CHECK_OK(stratalog_checkpoint(s, 1, key, STRATALOG_SIZE_CURRENT, NULL, &note));
    CHECK(strncmp(note, "example.com/c-test/1\n4\n", 23) == 0);
    uint64_t size = 0;
    uint8_t signed_root[32];
    CHECK_OK(stratalog_verify_checkpoint(note, vkey, &size, &signed_root));
    CHECK(size == 4 && memcmp(signed_root, root, 32) == 0);
    /* The log it is of, when the verifier says which it expects. */
    size = 0;
    CHECK_OK(stratalog_verify_checkpoint_for(note, vkey, "example.com/c-test/1", &size, NULL));
    CHECK(size == 4);
    size = 0;
    CHECK_STATUS(stratalog_verify_checkpoint_for(note, vkey, "example.com/c-test/2", &size, NULL),
                 STRATALOG_STATUS_VERIFICATION_FAILED);
    CHECK(size == 0 && strstr(stratalog_last_error(), "\"example.com/c-test/2\"") != NULL);
    CHECK_OK(stratalog_verify_checkpoint_for(note, vkey, NULL, NULL, NULL));
    char *same = NULL;
    CHECK_OK(stratalog_checkpoint(s, 1, again, 4, NULL, &same));
    CHECK(strcmp(same, note) == 0); /* Ed25519 is deterministic */
    stratalog_string_free(same);
    char *refused = NULL;
    CHECK_STATUS(stratalog_checkpoint(s, 1, key, 3, NULL, &refused), STRATALOG_STATUS_CHECKPOINT_REFUSED);
    CHECK(refused == NULL);
    CHECK_OK(stratalog_checkpoint(s, 1, key, 3, "example.com/another-origin", &refused));
    stratalog_string_free(refused);
    note[0] = 'E'; /* a forged origin */
    CHECK_STATUS(stratalog_verify_checkpoint(note, vkey, NULL, NULL), STRATALOG_STATUS_VERIFICATION_FAILED);
    stratalog_string_free(note);

    /* A receipt for "gamma", verified with the event alone. */
    char *receipt = NULL;
    CHECK_OK(stratalog_receipt(s, 1, 2, key, STRATALOG_SIZE_CURRENT, &receipt));
    CHECK(strncmp(receipt, "c2sp.org/tlog-proof@v1\nextra ", 29) == 0);
    uint64_t offset = 99;
    CHECK_OK(stratalog_verify_receipt(receipt, vkey, (const uint8_t *)"gamma", 5, &offset));
    CHECK(offset == 2);
    offset = 99;
    CHECK_STATUS(stratalog_verify_receipt(receipt, vkey, (const uint8_t *)"gammA", 5, &offset),
                 STRATALOG_STATUS_VERIFICATION_FAILED);
    CHECK(offset == 99);
    CHECK(strstr(stratalog_last_error(), "event 2") != NULL);
    CHECK_STATUS(stratalog_verify_receipt(receipt, "not a vkey", (const uint8_t *)"gamma", 5, NULL),
                 STRATALOG_STATUS_INVALID_ARGUMENT);
    offset = 99;
    CHECK_OK(stratalog_verify_receipt_for(receipt, vkey, "example.com/c-test/1", (const uint8_t *)"gamma", 5,
                                          &offset));
    CHECK(offset == 2);
    offset = 99;
    CHECK_STATUS(stratalog_verify_receipt_for(receipt, vkey, "example.com/c-test/7", (const uint8_t *)"gamma", 5,
                                              &offset),
                 STRATALOG_STATUS_VERIFICATION_FAILED);
    CHECK(offset == 99);
    stratalog_string_free(receipt);

    /* Tiles. */
    char tiles[600], file[700];
    snprintf(tiles, sizeof tiles, "%s.tiles", path);
    char *exported = NULL;
    CHECK_OK(stratalog_export_tiles(s, 1, key, tiles, STRATALOG_SIZE_CURRENT, &exported));
    snprintf(file, sizeof file, "%s/tile/0/000.p/4", tiles);
    CHECK(file_size(file) == 4 * 32);
    snprintf(file, sizeof file, "%s/tile/entries/000.p/4", tiles);
    CHECK(file_size(file) == 4 * 42);
    snprintf(file, sizeof file, "%s/checkpoint", tiles);
    CHECK(file_size(file) == (long)strlen(exported));
    stratalog_string_free(exported);

    /* FORMAT.md's checkpoint vector: the same bytes in every language. */
    stratalog_signing_key *vector_key = NULL;
    CHECK_OK(stratalog_signing_key_from_text(
        "PRIVATE+KEY+example.com/log+cc714670+AZ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g", &vector_key));
    char *vector_note = NULL;
    stratalog_store *mem = NULL;
    stratalog_options mem_opts;
    CHECK_OK(stratalog_options_default(&mem_opts));
    CHECK_OK(stratalog_open_in_memory(&mem_opts, &mem));
    for (int i = 0; i < 4; i++)
        CHECK_OK(append_text(mem, 1, VECTOR_EVENTS[i], NULL));
    CHECK_OK(stratalog_checkpoint(mem, 1, vector_key, STRATALOG_SIZE_CURRENT, NULL, &vector_note));
    CHECK(strcmp(vector_note,
                 "example.com/log/1\n4\n7XL6NELTT54Ito0qiJbST1KISxSbWZiZtawX4b94J/4=\n\n"
                 "\xe2\x80\x94 example.com/log zHFGcBsSWEnX5ZB+L3J+0wntore5Rf7e3d/qhpR5yKnpEQaBcY8/"
                 "CgIiESz5sO53KYAuldGR2+bPDIPeTbOeIGfu7wQ=\n") == 0);
    CHECK_OK(stratalog_verify_checkpoint(
        vector_note, "example.com/log+cc714670+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea", NULL, NULL));
    stratalog_string_free(vector_note);

    /* Witnesses: a bad witness text, and one nobody answers for. */
    char *cosigner = NULL, *witnessed = NULL;
    CHECK_OK(stratalog_signing_key_cosigner_vkey(vector_key, &cosigner));
    CHECK(strncmp(cosigner, "example.com/log+", 16) == 0);
    char spec[512];
    snprintf(spec, sizeof spec, "%s http://127.0.0.1:9", cosigner);
    const char *specs[1] = {spec};
    CHECK_STATUS(stratalog_witness_checkpoint(mem, 1, vector_key, specs, 1, STRATALOG_SIZE_CURRENT, NULL,
                                              &witnessed),
                 STRATALOG_STATUS_WITNESS_FAILED);
    CHECK(witnessed == NULL);
    const char *bad_specs[1] = {"not a witness"};
    CHECK_STATUS(stratalog_witness_checkpoint(mem, 1, vector_key, bad_specs, 1, STRATALOG_SIZE_CURRENT, NULL,
                                              &witnessed),
                 STRATALOG_STATUS_INVALID_ARGUMENT);
    /* No witnesses: the log's checkpoint alone, which needs 0 cosignatures
     * and fails a demand for 1. */
    CHECK_OK(stratalog_witness_checkpoint(mem, 1, vector_key, NULL, 0, STRATALOG_SIZE_CURRENT, NULL, &witnessed));
    const char *cosigners[1] = {cosigner};
    const char *vector_vkey = "example.com/log+cc714670+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";
    CHECK_OK(stratalog_verify_witnessed_checkpoint(witnessed, vector_vkey, cosigners, 1, 0, NULL, NULL));
    CHECK_OK(stratalog_verify_witnessed_checkpoint_for(witnessed, vector_vkey, "example.com/log/1", cosigners, 1, 0,
                                                       NULL, NULL));
    CHECK_STATUS(stratalog_verify_witnessed_checkpoint_for(witnessed, vector_vkey, "example.com/log", cosigners, 1,
                                                           0, NULL, NULL),
                 STRATALOG_STATUS_VERIFICATION_FAILED);
    CHECK_STATUS(stratalog_verify_witnessed_checkpoint(witnessed, vector_vkey, cosigners, 1, 1, NULL, NULL),
                 STRATALOG_STATUS_VERIFICATION_FAILED);
    stratalog_string_free(witnessed);
    stratalog_string_free(cosigner);
    stratalog_signing_key_free(vector_key);
    stratalog_close(mem);

    stratalog_string_free(vkey);
    stratalog_string_free(vkey_again);
    stratalog_signing_key_free(key);
    stratalog_signing_key_free(again);
    stratalog_close(s);
}

static void test_iter_extend(void)
{
    stratalog_store *s = NULL;
    stratalog_options opts = small_options();
    CHECK_OK(stratalog_open_in_memory(&opts, &s));
    for (int i = 0; i < 3; i++)
        CHECK_OK(append_text(s, 4, VECTOR_EVENTS[i], NULL));
    stratalog_iter *it = NULL;
    CHECK_OK(stratalog_iter_new(s, 4, 0, &it));
    bool has = false;
    uint64_t offset = 0;
    const uint8_t *data = NULL;
    size_t len = 0;
    int seen = 0;
    for (;;) {
        CHECK_OK(stratalog_iter_next(it, &has, &offset, &data, &len));
        if (!has)
            break;
        seen++;
    }
    CHECK(seen == 3);
    /* The stream grows; the iterator goes on from where it stopped. */
    CHECK_OK(append_text(s, 4, VECTOR_EVENTS[3], NULL));
    CHECK_OK(append_text(s, 4, "fifth", NULL));
    CHECK_OK(stratalog_iter_extend(s, it));
    CHECK_OK(stratalog_iter_next(it, &has, &offset, &data, &len));
    CHECK(has && offset == 3 && len == 0);
    CHECK_OK(stratalog_iter_next(it, &has, &offset, &data, &len));
    CHECK(has && offset == 4 && len == 5 && memcmp(data, "fifth", 5) == 0);
    CHECK_OK(stratalog_iter_next(it, &has, &offset, &data, &len));
    CHECK(!has);
    CHECK_STATUS(stratalog_iter_extend(s, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    stratalog_iter_free(it);
    stratalog_close(s);
}

/* Pruning keeps heads and proofs of what remains; reads below the first
 * offset fail with PRUNED and its detail; a backup is a store that verifies
 * against the heads it was taken at. */
static void test_prune_and_backup(void)
{
    char path[4200], dest[4200];
    fresh_path(path, sizeof path, "prune");
    fresh_path(dest, sizeof dest, "prune-backup");
    stratalog_options o = small_options();
    stratalog_store *s = NULL, *b = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    char text[64];
    stratalog_slice ev[20];
    stratalog_head head;
    char bufs[20][32];
    for (int batch = 0; batch < 100; batch++) {
        for (int i = 0; i < 20; i++) {
            snprintf(bufs[i], sizeof bufs[i], "event %04d padding padding", batch * 20 + i);
            ev[i] = slice_of(bufs[i]);
        }
        CHECK_OK(stratalog_append_batch(s, 4, ev, 20, NULL, STRATALOG_FSYNC_NO, &head));
    }
    CHECK(head.next_offset == 2000);
    stratalog_proof *before = NULL, *after = NULL;
    CHECK_OK(stratalog_inclusion_proof(s, 4, 1900, 2000, &before));
    uint64_t first = 12345;
    CHECK_OK(stratalog_first_offset(s, 4, &first));
    CHECK(first == 0);
    stratalog_head first_head;
    CHECK_OK(stratalog_first_head(s, 4, &first_head));
    static const uint8_t zero_hash[32];
    CHECK(first_head.next_offset == 0 && memcmp(first_head.hash, zero_hash, 32) == 0);
    /* h(n) of 1000..1499, from the leaf data (u64_le(n) || h(n)). */
    static uint8_t leaves[500][STRATALOG_LEAF_DATA_SIZE];
    for (int n = 0; n < 500; n++) {
        CHECK_OK(stratalog_leaf_data(s, 4, 1000 + (uint64_t)n, &leaves[n]));
    }
    CHECK_OK(stratalog_prune(s, 4, 1500, &first));
    CHECK(first > 1000 && first <= 1500);
    uint64_t again = 0;
    CHECK_OK(stratalog_first_offset(s, 4, &again));
    CHECK(again == first);
    CHECK_OK(stratalog_first_offset(s, 99, &again));
    CHECK(again == 0); /* no such stream */
    /* The head the retained events continue: h(first - 1). */
    CHECK_OK(stratalog_first_head(s, 4, &first_head));
    CHECK(first_head.next_offset == first);
    CHECK(memcmp(first_head.hash, leaves[first - 1 - 1000] + 8, 32) == 0);
    CHECK_STATUS(stratalog_first_head(s, 4, NULL), STRATALOG_STATUS_NULL_ARGUMENT);

    stratalog_events *evs = NULL;
    CHECK_STATUS(stratalog_read_from(s, 4, 3, 1 << 20, &evs), STRATALOG_STATUS_PRUNED);
    CHECK(evs == NULL);
    stratalog_error_detail d;
    CHECK(stratalog_last_error_detail(&d));
    CHECK(d.status == STRATALOG_STATUS_PRUNED && d.stream == 4 && d.offset == 3 && d.first_offset == first);
    CHECK(strstr(stratalog_last_error(), "pruned") != NULL);
    stratalog_iter *it = NULL;
    CHECK_STATUS(stratalog_iter_new(s, 4, first - 1, &it), STRATALOG_STATUS_PRUNED);
    CHECK_OK(stratalog_read_from(s, 4, first, 1 << 20, &evs));
    snprintf(text, sizeof text, "event %04llu padding padding", (unsigned long long)first);
    const uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(stratalog_events_get(evs, 0, &data, &len));
    CHECK(len == strlen(text) && memcmp(data, text, len) == 0);
    stratalog_events_free(evs);

    CHECK_OK(stratalog_verify_against(s, 4, &head, NULL));
    CHECK_OK(stratalog_inclusion_proof(s, 4, 1900, 2000, &after));
    CHECK(stratalog_proof_len(before) == stratalog_proof_len(after) && stratalog_proof_len(before) > 0);
    CHECK(memcmp(stratalog_proof_data(before), stratalog_proof_data(after), 32 * stratalog_proof_len(after)) == 0);
    stratalog_proof_free(before);
    stratalog_proof_free(after);

    /* Policies. */
    CHECK_OK(stratalog_prune_keep_last(s, 4, 200, &again));
    CHECK(again >= first && again <= 1800);
    CHECK_OK(stratalog_prune_keep_bytes(s, 4, 0, &again));
    stratalog_stream_stats st;
    CHECK_OK(stratalog_get_stream_stats(s, 4, &st));
    CHECK(st.segments == 1 && st.first_offset == again);
    first = again;

    /* Backup. */
    CHECK_OK(stratalog_backup(s, dest));
    CHECK_STATUS(stratalog_backup(s, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_backup(s, path), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_OK(stratalog_open_read_only(dest, &b));
    CHECK_OK(stratalog_verify_against(b, 4, &head, NULL));
    CHECK_OK(stratalog_first_offset(b, 4, &again));
    CHECK(again == first);
    /* What the backup's manifest lists: stream 4, its first offset, its head. */
    stratalog_backup_manifest *manifest = NULL;
    CHECK_OK(stratalog_backup_manifest_read(b, &manifest));
    CHECK(manifest != NULL && stratalog_backup_manifest_len(manifest) == 1);
    stratalog_backed_up_stream listed;
    CHECK_OK(stratalog_backup_manifest_get(manifest, 0, &listed));
    CHECK(listed.stream == 4 && listed.first_offset == first);
    CHECK(listed.head.next_offset == head.next_offset && memcmp(listed.head.hash, head.hash, 32) == 0);
    CHECK_STATUS(stratalog_backup_manifest_get(manifest, 1, &listed), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(stratalog_backup_manifest_get(NULL, 0, &listed), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_backup_manifest_get(manifest, 0, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    stratalog_backup_manifest *untouched = manifest;
    CHECK_STATUS(stratalog_backup_manifest_read(NULL, &untouched), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_backup_manifest_read(b, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK(untouched == manifest);
    stratalog_backup_manifest_free(manifest);
    stratalog_backup_manifest_free(NULL);
    CHECK(stratalog_backup_manifest_len(NULL) == 0);
    /* The store itself is no backup. */
    manifest = (stratalog_backup_manifest *)&listed;
    CHECK_OK(stratalog_backup_manifest_read(s, &manifest));
    CHECK(manifest == NULL);
    CHECK_STATUS(stratalog_prune(b, 4, 1999, &again), STRATALOG_STATUS_READ_ONLY);
    stratalog_close(b);
    /* Incremental, after more appends. */
    CHECK_OK(stratalog_append_batch(s, 4, ev, 20, NULL, STRATALOG_FSYNC_NO, &head));
    CHECK_OK(stratalog_backup(s, dest));
    CHECK_OK(stratalog_open_read_only(dest, &b));
    CHECK_OK(stratalog_verify_against(b, 4, &head, NULL));
    stratalog_close(b);

    CHECK_STATUS(stratalog_prune(s, 4, 10, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_first_offset(NULL, 4, &again), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_OK(stratalog_shutdown(s));
    stratalog_close(s);
}

/* Per-batch timestamps: seek by time, prune by time. */
static void test_timestamps(void)
{
    char path[4200];
    fresh_path(path, sizeof path, "timestamps");
    stratalog_options o = small_options();
    CHECK(o.timestamps == false);
    o.timestamps = true;
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    stratalog_slice two[2] = {slice_of("a"), slice_of("b")};
    stratalog_head head;
    struct timespec ts;
    uint64_t starts[30], before[30];
    for (int i = 0; i < 30; i++) {
        clock_gettime(CLOCK_REALTIME, &ts);
        before[i] = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
        CHECK_OK(stratalog_append_batch(s, 2, two, 2, NULL, STRATALOG_FSYNC_NO, &head));
        starts[i] = head.next_offset - 2;
        struct timespec nap = {0, 3 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    uint64_t at = 99;
    CHECK_OK(stratalog_seek_time(s, 2, 0, &at));
    CHECK(at == 0);
    CHECK_OK(stratalog_seek_time(s, 2, UINT64_MAX, &at));
    CHECK(at == head.next_offset);
    CHECK_OK(stratalog_seek_time(s, 2, before[20], &at));
    CHECK(at <= starts[20] && at >= starts[19]);
    CHECK_OK(stratalog_seek_time(s, 99, before[20], &at));
    CHECK(at == 0);
    uint64_t first = 0;
    CHECK_OK(stratalog_prune_keep_newer(s, 2, before[25], &first));
    CHECK(first <= starts[25]);
    CHECK_OK(stratalog_verify_against(s, 2, &head, NULL));
    CHECK_STATUS(stratalog_seek_time(s, 2, 0, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_OK(stratalog_shutdown(s));
    stratalog_close(s);
}

static void test_tier_options_and_errors(void)
{
    stratalog_options o;
    CHECK_OK(stratalog_options_default(&o));
    CHECK(o.tier_url == NULL && o.tier_options == NULL && o.tier_option_count == 0);
    CHECK(o.local_cache_bytes == UINT64_MAX && o.tier_takeover == false && o.tier_lease_ms == 30000);

    char path[4200];
    fresh_path(path, sizeof path, "tier");
    stratalog_store *s = NULL;
    /* A scheme this build does not reach, and an option object_store does
       not know: refused before anything is written. */
    o.tier_url = "gs://bucket/prefix";
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(s == NULL && strstr(stratalog_last_error(), "not supported") != NULL);
    const char *bad[] = {"endpiont", "http://127.0.0.1:1"};
    o.tier_url = "s3://bucket/prefix";
    o.tier_options = bad;
    o.tier_option_count = 1;
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "endpiont") != NULL);
    o.tier_options = NULL;
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_NULL_ARGUMENT);
    o.tier_option_count = 0;
    o.tier_lease_ms = 0;
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    /* Plain HTTP needs allow_http. */
    const char *plain[] = {"endpoint", "http://127.0.0.1:1", "region", "us-east-1"};
    o.tier_lease_ms = 30000;
    o.tier_options = plain;
    o.tier_option_count = 2;
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "allow_http=true") != NULL);
    /* Tier settings without a tier: refused, not ignored. */
    o.tier_url = NULL;
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "need a tier") != NULL);
    o.tier_options = NULL;
    o.tier_option_count = 0;
    o.local_cache_bytes = 5;
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    o.local_cache_bytes = UINT64_MAX;
    o.tier_takeover = true;
    CHECK_STATUS(stratalog_open(path, &o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(s == NULL);
    /* A store in memory has no tier: refused too, with or without a URL. */
    CHECK_STATUS(stratalog_open_in_memory(&o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "invalid argument: an in-memory store cannot have a tier") ==
          stratalog_last_error());
    o.tier_takeover = false;
    o.tier_url = "memory://";
    CHECK_STATUS(stratalog_open_in_memory(&o, &s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(stratalog_last_error(), "in-memory store cannot have a tier") != NULL);
    CHECK(s == NULL);
    o.tier_url = NULL;
    CHECK_STATUS(stratalog_open_in_memory(&o, &s), STRATALOG_STATUS_OK);
    stratalog_close(s);
    s = NULL;

    /* Nothing listens there: reading the bucket fails with IO, in bounded
       time. */
    const char *unreachable[] = {"endpoint", "http://127.0.0.1:1", "allow_http", "true",
                                 "region", "us-east-1", "access_key_id", "k",
                                 "secret_access_key", "s"};
    stratalog_options ro = small_options();
    ro.tier_options = unreachable;
    ro.tier_option_count = 5;
    CHECK_STATUS(stratalog_open_read_only_with("s3://bucket/prefix", &ro, &s), STRATALOG_STATUS_IO);
    CHECK(s == NULL);

    /* A store without a tier. */
    CHECK_OK(stratalog_open(path, NULL, &s));
    stratalog_tier_stats stats;
    char *text = (char *)"untouched";
    CHECK_STATUS(stratalog_sync_tier(s), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(stratalog_get_tier_stats(s, &stats), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(stratalog_tier_last_error(s, &text), STRATALOG_STATUS_INVALID_ARGUMENT);
    CHECK(strcmp(text, "untouched") == 0);
    CHECK_STATUS(stratalog_get_tier_stats(s, NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(stratalog_sync_tier(NULL), STRATALOG_STATUS_NULL_ARGUMENT);
    stratalog_close(s);
}

/* A real tier with no server: a directory, through a file:// URL. */
static void test_tier_on_a_file_system(void)
{
    char path[4200], tier_dir[4200], url[4300];
    fresh_path(path, sizeof path, "tiered");
    fresh_path(tier_dir, sizeof tier_dir, "tier-dir");
    snprintf(url, sizeof url, "file://%s", tier_dir);
    stratalog_options o = small_options();
    o.tier_url = url;
    o.local_cache_bytes = 0;
    stratalog_store *s = NULL;
    CHECK_OK(stratalog_open(path, &o, &s));
    if (s == NULL)
        return;
    stratalog_head head;
    char event[256];
    for (uint64_t i = 0; i < 200; i++) {
        numbered_event(i, event, sizeof event);
        CHECK_OK(append_text(s, 1, event, &head));
    }
    CHECK_OK(stratalog_sync_tier(s));
    stratalog_tier_stats stats;
    memset(&stats, 0xAB, sizeof stats);
    CHECK_OK(stratalog_get_tier_stats(s, &stats));
    CHECK(stats.pending_segments == 0 && stats.pending_bytes == 0);
    CHECK(stats.uploaded_segments >= 2 && stats.uploaded_bytes > 0);
    CHECK(stats.evicted_segments == stats.uploaded_segments);
    CHECK(stats.copied_back_segments == 0);
    CHECK(stats.epoch == 1 && !stats.fenced && !stats.has_error);
    char *text = (char *)"untouched";
    CHECK_OK(stratalog_tier_last_error(s, &text));
    CHECK(text == NULL);
    /* The first segment is evicted: it is read back from the tier. */
    char seg[4400];
    segment_path(seg, sizeof seg, path, 1, 0);
    CHECK(file_size(seg) == -1);
    CHECK(read_all_and_check(s, 1, numbered_event) == 200);

    /* A second writer on the same tier, from another directory: LOCKED. */
    char other[4200];
    fresh_path(other, sizeof other, "tiered-other");
    stratalog_store *second = NULL;
    CHECK_STATUS(stratalog_open(other, &o, &second), STRATALOG_STATUS_LOCKED);
    CHECK(second == NULL);

    /* The tier alone, with no local store. */
    stratalog_store *remote = NULL;
    stratalog_options ro = small_options();
    CHECK_OK(stratalog_open_read_only_with(url, &ro, &remote));
    stratalog_verify_report report;
    CHECK_OK(stratalog_verify_against(remote, 1, &head, &report));
    CHECK(report.events == 200);
    CHECK(read_all_and_check(remote, 1, numbered_event) == 200);
    stratalog_close(remote);
    stratalog_close(s);

    /* Closed after a sync with nothing after it: the lease is released,
       so the other directory opens at once and continues the chain. */
    CHECK_OK(stratalog_open(other, &o, &second));
    if (second == NULL)
        return;
    stratalog_head other_head;
    CHECK_OK(stratalog_chain_head(second, 1, &other_head));
    CHECK(heads_equal(&other_head, &head));
    CHECK_OK(stratalog_get_tier_stats(second, &stats));
    CHECK(stats.epoch == 2);
    stratalog_close(second);
}

int main(int argc, char **argv)
{
    int own_scratch = argc < 2;
    if (own_scratch) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/stratalog-c-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(scratch) == NULL) {
            perror("mkdtemp");
            return 2;
        }
    } else {
        snprintf(scratch, sizeof scratch, "%s", argv[1]);
        if (mkdir(scratch, 0755) != 0 && errno != EEXIST) {
            perror("mkdir");
            return 2;
        }
    }

    run_test("version", test_version);
    run_test("status_names_and_numbers", test_status_names_and_numbers);
    run_test("hash_vectors", test_hash_vectors);
    run_test("round_trip_across_reopen", test_round_trip_across_reopen);
    run_test("batches_and_iterators_outlive_the_store", test_batches_and_iterators_outlive_the_store);
    run_test("max_bytes", test_max_bytes);
    run_test("null_arguments", test_null_arguments);
    run_test("invalid_arguments", test_invalid_arguments);
    run_test("io_errors", test_io_errors);
    run_test("offset_errors_and_details", test_offset_errors_and_details);
    run_test("append_batches", test_append_batches);
    run_test("last_error_is_per_thread", test_last_error_is_per_thread);
    run_test("second_writer_is_locked", test_second_writer_is_locked);
    run_test("closed", test_closed);
    run_test("verify_against_detects_truncation_and_rewrites",
             test_verify_against_detects_truncation_and_rewrites);
    run_test("flipped_byte_is_found", test_flipped_byte_is_found);
    run_test("flipped_byte_in_sealed_segment_is_found", test_flipped_byte_in_sealed_segment_is_found);
    run_test("torn_tail_is_repaired_on_reopen", test_torn_tail_is_repaired_on_reopen);
    run_test("threads_share_one_handle", test_threads_share_one_handle);
    run_test("stats_names_and_durability", test_stats_names_and_durability);
    run_test("fork", test_fork);
    run_test("wait", test_wait);
    run_test("many_streams_few_descriptors", test_many_streams_few_descriptors);
    run_test("cursors", test_cursors);
    run_test("proofs", test_proofs);
    run_test("iter_extend", test_iter_extend);
    run_test("iter_next_batch", test_iter_next_batch);
    run_test("prune_and_backup", test_prune_and_backup);
    run_test("timestamps", test_timestamps);
    run_test("tier_options_and_errors", test_tier_options_and_errors);
    run_test("tier_on_a_file_system", test_tier_on_a_file_system);

    if (own_scratch)
        nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("c-api: %d passed, %d failed\n", tests_passed, tests_failed);
    return tests_failed == 0 ? 0 : 1;
}
