// See include/ccurl.h. <curl/curl.h> is used for types and constants only: nothing here
// references a libcurl symbol at link time, every function is found with dlsym.
#include "ccurl.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CHECK_OPTION(name) _Static_assert(C##name == name, #name " differs from <curl/curl.h>")
CHECK_OPTION(CURLOPT_WRITEDATA);
CHECK_OPTION(CURLOPT_URL);
CHECK_OPTION(CURLOPT_READDATA);
CHECK_OPTION(CURLOPT_ERRORBUFFER);
CHECK_OPTION(CURLOPT_WRITEFUNCTION);
CHECK_OPTION(CURLOPT_READFUNCTION);
CHECK_OPTION(CURLOPT_LOW_SPEED_LIMIT);
CHECK_OPTION(CURLOPT_LOW_SPEED_TIME);
CHECK_OPTION(CURLOPT_HTTPHEADER);
CHECK_OPTION(CURLOPT_NOPROGRESS);
CHECK_OPTION(CURLOPT_NOBODY);
CHECK_OPTION(CURLOPT_UPLOAD);
CHECK_OPTION(CURLOPT_FOLLOWLOCATION);
CHECK_OPTION(CURLOPT_MAXREDIRS);
CHECK_OPTION(CURLOPT_BUFFERSIZE);
CHECK_OPTION(CURLOPT_NOSIGNAL);
CHECK_OPTION(CURLOPT_TIMEOUT_MS);
CHECK_OPTION(CURLOPT_CONNECTTIMEOUT_MS);
CHECK_OPTION(CURLOPT_SEEKFUNCTION);
CHECK_OPTION(CURLOPT_SEEKDATA);
CHECK_OPTION(CURLOPT_XFERINFOFUNCTION);
CHECK_OPTION(CURLOPT_XFERINFODATA);
CHECK_OPTION(CURLOPT_INFILESIZE_LARGE);
CHECK_OPTION(CURLOPT_UPLOAD_BUFFERSIZE);
CHECK_OPTION(CURLOPT_PROTOCOLS_STR);
CHECK_OPTION(CURLOPT_REDIR_PROTOCOLS_STR);
CHECK_OPTION(CURLOPT_CUSTOMREQUEST);
CHECK_OPTION(CURLOPT_HEADERFUNCTION);
CHECK_OPTION(CURLOPT_HEADERDATA);
CHECK_OPTION(CURLE_OK);
CHECK_OPTION(CURLE_COULDNT_RESOLVE_PROXY);
CHECK_OPTION(CURLE_COULDNT_RESOLVE_HOST);
CHECK_OPTION(CURLE_COULDNT_CONNECT);
CHECK_OPTION(CURLE_PARTIAL_FILE);
CHECK_OPTION(CURLE_WRITE_ERROR);
CHECK_OPTION(CURLE_READ_ERROR);
CHECK_OPTION(CURLE_OPERATION_TIMEDOUT);
CHECK_OPTION(CURLE_ABORTED_BY_CALLBACK);
CHECK_OPTION(CURLE_GOT_NOTHING);
CHECK_OPTION(CURLE_SEND_ERROR);
CHECK_OPTION(CURLE_RECV_ERROR);
CHECK_OPTION(CURL_READFUNC_ABORT);
CHECK_OPTION(CURL_SEEKFUNC_OK);
CHECK_OPTION(CURL_SEEKFUNC_CANTSEEK);
CHECK_OPTION(CURL_ERROR_SIZE);
_Static_assert(sizeof(curl_off_t) == sizeof(int64_t), "curl_off_t is not 64-bit");

// The libcurl entry points, typed from <curl/curl.h>.
static struct {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_reset) *easy_reset;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
} api;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_status = -1;
static char load_error[512];

static int resolve(void *library, const char *name, void **slot) {
    *slot = dlsym(library, name);
    if (*slot == NULL) {
        snprintf(load_error, sizeof load_error, "libcurl has no symbol %s", name);
        return -1;
    }
    return 0;
}

static void load_library(void) {
    // libcurl.so.4 is the library Foundation's URLSession uses on Linux (libcurl4 packages);
    // Debian/Ubuntu systems with only the GnuTLS flavour installed name it differently.
    static const char *const names[] = {"libcurl.so.4", "libcurl-gnutls.so.4"};
    void *library = NULL;
    char first_error[256] = "";
    for (size_t index = 0; index < sizeof names / sizeof names[0] && library == NULL; index++) {
        library = dlopen(names[index], RTLD_NOW | RTLD_LOCAL);
        if (library == NULL && index == 0) {
            const char *message = dlerror();
            snprintf(first_error, sizeof first_error, "%s", message ? message : "dlopen failed");
        }
    }
    if (library == NULL) {
        snprintf(load_error, sizeof load_error, "cannot load libcurl (%s); install libcurl4", first_error);
        return;
    }
    if (resolve(library, "curl_global_init", (void **)&api.global_init) != 0
        || resolve(library, "curl_easy_init", (void **)&api.easy_init) != 0
        || resolve(library, "curl_easy_cleanup", (void **)&api.easy_cleanup) != 0
        || resolve(library, "curl_easy_reset", (void **)&api.easy_reset) != 0
        || resolve(library, "curl_easy_setopt", (void **)&api.easy_setopt) != 0
        || resolve(library, "curl_easy_getinfo", (void **)&api.easy_getinfo) != 0
        || resolve(library, "curl_easy_perform", (void **)&api.easy_perform) != 0
        || resolve(library, "curl_easy_strerror", (void **)&api.easy_strerror) != 0
        || resolve(library, "curl_slist_append", (void **)&api.slist_append) != 0
        || resolve(library, "curl_slist_free_all", (void **)&api.slist_free_all) != 0) {
        return;
    }
    // Not thread-safe in libcurl: done here, once, before any handle exists.
    CURLcode code = api.global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init failed: %s", api.easy_strerror(code));
        return;
    }
    load_status = 0;
}

int ccurl_load(char *error, size_t error_size) {
    pthread_once(&load_once, load_library);
    if (load_status != 0 && error != NULL && error_size > 0) {
        snprintf(error, error_size, "%s", load_error);
    }
    return load_status;
}

ccurl_handle *ccurl_easy_init(void) { return (ccurl_handle *)api.easy_init(); }

void ccurl_easy_cleanup(ccurl_handle *handle) { api.easy_cleanup((CURL *)handle); }

void ccurl_easy_reset(ccurl_handle *handle) { api.easy_reset((CURL *)handle); }

int ccurl_setopt_long(ccurl_handle *handle, int option, long value) {
    return (int)api.easy_setopt((CURL *)handle, (CURLoption)option, value);
}

int ccurl_setopt_ptr(ccurl_handle *handle, int option, const void *value) {
    return (int)api.easy_setopt((CURL *)handle, (CURLoption)option, value);
}

int ccurl_setopt_off_t(ccurl_handle *handle, int option, int64_t value) {
    return (int)api.easy_setopt((CURL *)handle, (CURLoption)option, (curl_off_t)value);
}

int ccurl_setopt_data_callback(ccurl_handle *handle, int option, ccurl_data_callback callback) {
    return (int)api.easy_setopt((CURL *)handle, (CURLoption)option, (curl_write_callback)callback);
}

int ccurl_setopt_xferinfo_callback(ccurl_handle *handle, ccurl_xferinfo_callback callback) {
    return (int)api.easy_setopt((CURL *)handle, CURLOPT_XFERINFOFUNCTION, (curl_xferinfo_callback)callback);
}

int ccurl_setopt_seek_callback(ccurl_handle *handle, ccurl_seek_callback callback) {
    return (int)api.easy_setopt((CURL *)handle, CURLOPT_SEEKFUNCTION, (curl_seek_callback)callback);
}

int ccurl_easy_perform(ccurl_handle *handle) { return (int)api.easy_perform((CURL *)handle); }

int ccurl_getinfo_response_code(ccurl_handle *handle, long *code) {
    return (int)api.easy_getinfo((CURL *)handle, CURLINFO_RESPONSE_CODE, code);
}

int ccurl_getinfo_content_length(ccurl_handle *handle, int64_t *length) {
    curl_off_t value = -1;
    CURLcode code = api.easy_getinfo((CURL *)handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &value);
    *length = (int64_t)value;
    return (int)code;
}

int ccurl_getinfo_os_errno(ccurl_handle *handle, long *os_errno) {
    return (int)api.easy_getinfo((CURL *)handle, CURLINFO_OS_ERRNO, os_errno);
}

const char *ccurl_easy_strerror(int code) { return api.easy_strerror((CURLcode)code); }

ccurl_slist *ccurl_slist_append(ccurl_slist *list, const char *string) {
    return (ccurl_slist *)api.slist_append((struct curl_slist *)list, string);
}

void ccurl_slist_free_all(ccurl_slist *list) { api.slist_free_all((struct curl_slist *)list); }
