/* include/stratalog.h must compile alone (it is the first and only include)
 * and be safe to include twice. Compiled as C11 (and C2x when the compiler
 * has it) with -Wall -Wextra -Werror -pedantic by tests/c/run.sh. */
#include "stratalog.h"
#include "stratalog.h"

int header_twice_uses_every_type(void);

int header_twice_uses_every_type(void)
{
    stratalog_options opts;
    stratalog_head head = {0, {0}};
    stratalog_slice slice = {NULL, 0};
    stratalog_verify_report report;
    stratalog_error_detail detail;
    stratalog_store *store = NULL;
    stratalog_events *events = NULL;
    stratalog_stream_list *list = NULL;
    stratalog_iter *iter = NULL;
    stratalog_status status = STRATALOG_STATUS_OK;
    opts.compression = STRATALOG_COMPRESSION_ZSTD;
    report.failed_offset = STRATALOG_NO_OFFSET;
    detail.status = STRATALOG_STATUS_POISONED;
    (void)opts;
    (void)head;
    (void)slice;
    (void)report;
    (void)detail;
    (void)store;
    (void)events;
    (void)list;
    (void)iter;
    return (int)status + (STRATALOG_FSYNC_DEFAULT == 0 ? 0 : 1) +
           (int)sizeof(char[STRATALOG_HEAD_TEXT_SIZE]) - 86;
}
