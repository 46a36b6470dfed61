// libcurl, loaded at run time: the `mlbuild` binary does not link libcurl (and the ~30
// libraries it pulls in) so that a build without a remote cache starts fast. The first
// `ccurl_load` dlopens libcurl.so.4; every other function requires a successful load.
//
// Only non-variadic wrappers are exposed (Swift cannot call curl_easy_setopt/getinfo), with
// libcurl's own numeric values for the options used (checked against <curl/curl.h> at compile
// time in ccurl.c). Handles are opaque.
#ifndef CCURL_H
#define CCURL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ccurl_handle ccurl_handle;
typedef struct ccurl_slist ccurl_slist;

/// CURLOPT_WRITEFUNCTION / CURLOPT_READFUNCTION / CURLOPT_HEADERFUNCTION.
typedef size_t (*ccurl_data_callback)(char *buffer, size_t size, size_t count, void *context);
/// CURLOPT_XFERINFOFUNCTION: non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
typedef int (*ccurl_xferinfo_callback)(void *context, int64_t download_total, int64_t download_now,
                                       int64_t upload_total, int64_t upload_now);
/// CURLOPT_SEEKFUNCTION (rewinds an upload when libcurl resends it on a fresh connection).
typedef int (*ccurl_seek_callback)(void *context, int64_t offset, int origin);

// CURLoption values used by mlbuild.
#define CCURLOPT_WRITEDATA 10001
#define CCURLOPT_URL 10002
#define CCURLOPT_READDATA 10009
#define CCURLOPT_ERRORBUFFER 10010
#define CCURLOPT_WRITEFUNCTION 20011
#define CCURLOPT_READFUNCTION 20012
#define CCURLOPT_LOW_SPEED_LIMIT 19
#define CCURLOPT_LOW_SPEED_TIME 20
#define CCURLOPT_HTTPHEADER 10023
#define CCURLOPT_NOPROGRESS 43
#define CCURLOPT_NOBODY 44
#define CCURLOPT_UPLOAD 46
#define CCURLOPT_FOLLOWLOCATION 52
#define CCURLOPT_MAXREDIRS 68
#define CCURLOPT_BUFFERSIZE 98
#define CCURLOPT_NOSIGNAL 99
#define CCURLOPT_TIMEOUT_MS 155
#define CCURLOPT_CONNECTTIMEOUT_MS 156
#define CCURLOPT_SEEKFUNCTION 20167
#define CCURLOPT_SEEKDATA 10168
#define CCURLOPT_XFERINFOFUNCTION 20219
#define CCURLOPT_XFERINFODATA 10057
#define CCURLOPT_INFILESIZE_LARGE 30115
#define CCURLOPT_UPLOAD_BUFFERSIZE 280
#define CCURLOPT_PROTOCOLS_STR 10318
#define CCURLOPT_REDIR_PROTOCOLS_STR 10319
#define CCURLOPT_CUSTOMREQUEST 10036
#define CCURLOPT_HEADERFUNCTION 20079
#define CCURLOPT_HEADERDATA 10029

// CURLcode values mlbuild distinguishes.
#define CCURLE_OK 0
#define CCURLE_COULDNT_RESOLVE_PROXY 5
#define CCURLE_COULDNT_RESOLVE_HOST 6
#define CCURLE_COULDNT_CONNECT 7
#define CCURLE_PARTIAL_FILE 18
#define CCURLE_WRITE_ERROR 23
#define CCURLE_READ_ERROR 26
#define CCURLE_OPERATION_TIMEDOUT 28
#define CCURLE_ABORTED_BY_CALLBACK 42
#define CCURLE_GOT_NOTHING 52
#define CCURLE_SEND_ERROR 55
#define CCURLE_RECV_ERROR 56

// Callback return values.
#define CCURL_READFUNC_ABORT 0x10000000
#define CCURL_SEEKFUNC_OK 0
#define CCURL_SEEKFUNC_CANTSEEK 2

/// Size of the buffer for CCURLOPT_ERRORBUFFER (CURL_ERROR_SIZE).
#define CCURL_ERROR_SIZE 256

/// Loads libcurl.so.4 (falling back to libcurl-gnutls.so.4) and runs curl_global_init, once
/// per process (later calls return the first outcome). 0 on success; otherwise -1 with a
/// NUL-terminated reason in `error` (at most `error_size` bytes).
int ccurl_load(char *error, size_t error_size);

ccurl_handle *ccurl_easy_init(void);
void ccurl_easy_cleanup(ccurl_handle *handle);
/// Resets the options; keeps the handle's connection and DNS caches.
void ccurl_easy_reset(ccurl_handle *handle);
int ccurl_setopt_long(ccurl_handle *handle, int option, long value);
int ccurl_setopt_ptr(ccurl_handle *handle, int option, const void *value);
int ccurl_setopt_off_t(ccurl_handle *handle, int option, int64_t value);
int ccurl_setopt_data_callback(ccurl_handle *handle, int option, ccurl_data_callback callback);
int ccurl_setopt_xferinfo_callback(ccurl_handle *handle, ccurl_xferinfo_callback callback);
int ccurl_setopt_seek_callback(ccurl_handle *handle, ccurl_seek_callback callback);
/// curl_easy_perform: blocks the calling thread until the transfer ends; returns a CURLcode.
int ccurl_easy_perform(ccurl_handle *handle);
/// CURLINFO_RESPONSE_CODE (0 when no response was received).
int ccurl_getinfo_response_code(ccurl_handle *handle, long *code);
/// CURLINFO_CONTENT_LENGTH_DOWNLOAD_T (-1 when unknown).
int ccurl_getinfo_content_length(ccurl_handle *handle, int64_t *length);
/// CURLINFO_OS_ERRNO: the errno of the last connect/send/recv failure, 0 if none.
int ccurl_getinfo_os_errno(ccurl_handle *handle, long *os_errno);
const char *ccurl_easy_strerror(int code);
ccurl_slist *ccurl_slist_append(ccurl_slist *list, const char *string);
void ccurl_slist_free_all(ccurl_slist *list);

#endif
