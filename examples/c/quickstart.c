/*
 * stratalog quickstart in C: open a store, append a batch atomically, read
 * it back, print the stream's chain head, and verify the stream against it.
 *
 * Run it alone (after `make install`, or point -I/-L at include/ and
 * target/x86_64-unknown-linux-gnu/release/):
 *
 *     cc quickstart.c $(pkg-config --cflags --libs stratalog) -o quickstart
 *     ./quickstart [STORE_DIR]        # default: ./data
 *
 * `make demo` builds and runs it on a fresh directory. Run it twice on the
 * same directory and the stream grows: the data survives the reopen.
 */
#include <stratalog.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Prints the failure of `call` and returns 1 from main. */
#define TRY(call)                                                            \
    do {                                                                     \
        stratalog_status st_ = (call);                                       \
        if (st_ != STRATALOG_STATUS_OK) {                                    \
            fprintf(stderr, "%s failed: %s: %s\n", #call,                    \
                    stratalog_status_str(st_), stratalog_last_error());      \
            stratalog_close(store);                                          \
            return 1;                                                        \
        }                                                                    \
    } while (0)

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "data";
    const uint64_t stream = 1;
    stratalog_store *store = NULL;

    /* Default options, except: compress records with LZ4. */
    stratalog_options opts;
    TRY(stratalog_options_default(&opts));
    opts.compression = STRATALOG_COMPRESSION_LZ4;
    TRY(stratalog_open(path, &opts, &store));

    /* Append three events as one atomic, durable (fsync) batch. */
    const char *texts[3] = {"user signed up", "user verified email", "user placed order #1"};
    stratalog_slice batch[3];
    for (int i = 0; i < 3; i++) {
        batch[i].data = (const uint8_t *)texts[i];
        batch[i].len = strlen(texts[i]);
    }
    stratalog_head head;
    TRY(stratalog_append_batch(store, stream, batch, 3, NULL, STRATALOG_FSYNC_YES, &head));
    uint64_t first = head.next_offset - 3;
    printf("appended offsets %" PRIu64 "..%" PRIu64 " to stream %" PRIu64 "\n", first,
           head.next_offset - 1, stream);

    /* Read them back. The batch owns the bytes until it is freed. */
    stratalog_events *events = NULL;
    TRY(stratalog_read_from(store, stream, first, 1 << 20, &events));
    for (size_t i = 0; i < stratalog_events_len(events); i++) {
        const uint8_t *data;
        size_t len;
        if (stratalog_events_get(events, i, &data, &len) == STRATALOG_STATUS_OK)
            printf("  %" PRIu64 ": %.*s\n", stratalog_events_first_offset(events) + i, (int)len,
                   (const char *)data);
    }
    stratalog_events_free(events);

    /* The chain head summarizes the whole stream; keep it somewhere safe. */
    char text[STRATALOG_HEAD_TEXT_SIZE];
    TRY(stratalog_head_to_hex(&head, text, sizeof text));
    printf("chain head: %s\n", text);

    /* Verify every record and that the chain still passes through the head. */
    stratalog_verify_report report;
    TRY(stratalog_verify_against(store, stream, &head, &report));
    printf("verified %" PRIu64 " events (%" PRIu64 " bytes) in %" PRIu64 " segment(s)\n",
           report.events, report.bytes, report.segments);

    /* stratalog_close() cannot report errors: sync first when it matters. */
    TRY(stratalog_sync(store));
    stratalog_close(store);
    return 0;
}
