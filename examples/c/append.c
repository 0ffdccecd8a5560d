/*
 * append.c: append events to one stream as a single atomic batch (durably)
 * and print the stream's chain head. With no events it only prints the head.
 * `make demo` uses it, with its Python and Node twins, to show that three
 * languages writing one store in turn agree on the chain head.
 *
 * Run it alone (after `make install`):
 *
 *     cc append.c $(pkg-config --cflags --libs stratalog) -o append
 *     ./append STORE_DIR STREAM [EVENT...]
 */
#include <stratalog.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s STORE_DIR STREAM [EVENT...]\n", argv[0]);
        return 2;
    }
    uint64_t stream = strtoull(argv[2], NULL, 10);
    size_t count = (size_t)(argc - 3);
    stratalog_store *store = NULL;
    stratalog_status st = count > 0 ? stratalog_open(argv[1], NULL, &store)
                                    : stratalog_open_read_only(argv[1], &store);
    if (st != STRATALOG_STATUS_OK) {
        fprintf(stderr, "open: %s: %s\n", stratalog_status_str(st), stratalog_last_error());
        return 1;
    }
    stratalog_head head;
    if (count > 0) {
        stratalog_slice events[64];
        if (count > 64) {
            count = 64;
        }
        for (size_t i = 0; i < count; i++) {
            events[i].data = (const uint8_t *)argv[3 + i];
            events[i].len = strlen(argv[3 + i]);
        }
        st = stratalog_append_batch(store, stream, events, count, NULL, STRATALOG_FSYNC_YES, &head);
    } else {
        st = stratalog_chain_head(store, stream, &head);
    }
    if (st != STRATALOG_STATUS_OK) {
        fprintf(stderr, "append: %s: %s\n", stratalog_status_str(st), stratalog_last_error());
        stratalog_close(store);
        return 1;
    }
    char text[STRATALOG_HEAD_TEXT_SIZE];
    stratalog_head_to_hex(&head, text, sizeof text);
    printf("%s\n", text);
    stratalog_close(store);
    return 0;
}
