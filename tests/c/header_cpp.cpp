// include/stratalog.h from C++: compiles (included twice) with -Wall -Wextra
// -Werror -pedantic, links (extern "C"), and the functions work.
#include "stratalog.h"
#include "stratalog.h"

#include <cstdio>
#include <cstring>

int main()
{
    stratalog_options opts;
    if (stratalog_options_default(&opts) != STRATALOG_STATUS_OK)
        return 1;
    opts.compression = STRATALOG_COMPRESSION_LZ4;
    stratalog_store *store = nullptr;
    if (stratalog_open_in_memory(&opts, &store) != STRATALOG_STATUS_OK)
        return 2;
    const char *text = "alpha";
    stratalog_slice event = {reinterpret_cast<const uint8_t *>(text), std::strlen(text)};
    stratalog_head head;
    if (stratalog_append_batch(store, 1, &event, 1, nullptr, STRATALOG_FSYNC_NO, &head) != STRATALOG_STATUS_OK)
        return 3;
    char hex[STRATALOG_HEAD_TEXT_SIZE];
    if (stratalog_head_to_hex(&head, hex, sizeof hex) != STRATALOG_STATUS_OK)
        return 4;
    stratalog_close(store);
    if (std::strcmp(hex, "1:94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009") != 0)
        return 5;
    if (std::strcmp(stratalog_version(), STRATALOG_VERSION_STRING) != 0)
        return 6;
    std::printf("header from C++: ok (%s)\n", hex);
    return 0;
}
