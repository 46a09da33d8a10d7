/* Why a libcurl transfer failed, as a message naming the server and a short code the Lua side maps to errors. */
#include "http_failure.h"

#include <stdio.h>
#include <string.h>

/* Whether the request went out, so that what libcurl refused next can only have been the answer. */
static int request_sent(oss_http *http)
{
    long sent = 0;
    return curl_easy_getinfo(http->curl, CURLINFO_REQUEST_SIZE, &sent) == CURLE_OK && sent > 0;
}

/* libcurl's result code, read with what the transfer itself saw where libcurl gives one code to several causes. */
static const char *failure_code(oss_http *http, CURLcode result)
{
    switch (result) {
    case CURLE_COULDNT_CONNECT:
        return "connect";
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
        return "resolve";
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PROXY:
        return "proxy";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return "tls";
    case CURLE_SEND_ERROR:
        return "send";
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return "receive";
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return "protocol";
    case CURLE_FILESIZE_EXCEEDED: /* only ever max_response_size, set as CURLOPT_MAXFILESIZE_LARGE */
#if LIBCURL_VERSION_NUM >= 0x080600
    case CURLE_TOO_LARGE:
#endif
        return "too_large";
    case CURLE_WRITE_ERROR:
        return http->refusal == OSS_HTTP_BODY_TOO_LARGE || http->refusal == OSS_HTTP_HEADERS_TOO_LARGE ? "too_large"
                                                                                                        : "other";
    case CURLE_OUT_OF_MEMORY:
        /* Before 8.6, libcurl reports a header line longer than CURL_MAX_HTTP_HEADER as out of memory; that line
         * is the one allocation a server's answer can make fail, so in the middle of a head it is the cause. */
        return request_sent(http) && !http->head_complete ? "too_large" : "other";
    case CURLE_UNSUPPORTED_PROTOCOL:
        /* Also libcurl's code for an answer that is not HTTP/1.x: no status line, or a bad version or status. */
        return request_sent(http) ? "protocol" : "invalid";
    case CURLE_URL_MALFORMAT:
        return "invalid";
    default:
        return "other";
    }
}

/* "host:port" of the URL, for messages; the URL itself may carry a query not worth repeating. */
static void describe_server(const char *url, char *out, size_t size)
{
    CURLU *parsed = curl_url();
    char *host = NULL;
    char *port = NULL;
    if (parsed != NULL && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
        snprintf(out, size, "%s:%s", host, port);
    else
        snprintf(out, size, "the server");
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(parsed);
}

/* libcurl's own words, or the operating system's when a socket call failed (e.g. "Connection refused"). */
static const char *failure_detail(oss_http *http, CURLcode result, char *scratch, size_t size)
{
    long os_error = 0;
    if (result == CURLE_COULDNT_CONNECT && curl_easy_getinfo(http->curl, CURLINFO_OS_ERRNO, &os_error) == CURLE_OK &&
        os_error != 0 && strerror_r((int)os_error, scratch, size) == 0)
        return scratch;
    size_t length = strlen(http->error);
    while (length > 0 && (http->error[length - 1] == ' ' || http->error[length - 1] == '\n'))
        http->error[--length] = '\0';
    return length > 0 ? http->error : curl_easy_strerror(result);
}

/* The message for a too_large failure, from the limit that was reached. */
static void describe_too_large(oss_http *http, const oss_http_request *request, CURLcode result,
                               const char *detail, char *message, size_t size)
{
    if (result == CURLE_FILESIZE_EXCEEDED || http->refusal == OSS_HTTP_BODY_TOO_LARGE)
        snprintf(message, size, "response body exceeds %zu bytes", request->max_response_size);
    else if (http->refusal == OSS_HTTP_HEADERS_TOO_LARGE)
        snprintf(message, size, "response headers exceed %zu bytes", OSS_HTTP_MAX_HEADER_BYTES);
    else if (result == CURLE_OUT_OF_MEMORY)
        snprintf(message, size, "a response header line exceeds %d bytes", CURL_MAX_HTTP_HEADER);
    else
        snprintf(message, size, "response too large: %s", detail);
}

const char *oss_http_failure(oss_http *http, const oss_http_request *request, CURLcode result, char *message,
                             size_t size)
{
    char server[300];
    char scratch[128];
    const char *code = failure_code(http, result);
    describe_server(request->url, server, sizeof server);
    const char *detail = failure_detail(http, result, scratch, sizeof scratch);
    if (strcmp(code, "too_large") == 0) {
        describe_too_large(http, request, result, detail, message, size);
    } else if (http->refusal == OSS_HTTP_OUT_OF_MEMORY) {
        snprintf(message, size, "out of memory while receiving the response from %s", server);
    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        curl_off_t connected_after = 0;
        curl_easy_getinfo(http->curl, CURLINFO_CONNECT_TIME_T, &connected_after);
        /* While connecting, libcurl applies the smaller of the two limits. */
        if (connected_after == 0 && request->connect_timeout <= request->timeout)
            snprintf(message, size, "connect to %s timed out after %g seconds (connect_timeout)", server,
                     request->connect_timeout);
        else
            snprintf(message, size, "request to %s timed out after %g seconds (timeout)", server, request->timeout);
    } else if (strcmp(code, "connect") == 0 && request->proxy != NULL && request->proxy[0] != '\0') {
        /* Without a no_proxy list every connection goes to the proxy; with one, either may have failed. */
        if (request->no_proxy == NULL || request->no_proxy[0] == '\0') {
            code = "proxy";
            snprintf(message, size, "connect to the proxy for %s failed: %s", server, detail);
        } else {
            snprintf(message, size, "connect to %s or its proxy failed: %s", server, detail);
        }
    } else if (strcmp(code, "connect") == 0) {
        snprintf(message, size, "connect to %s failed: %s", server, detail);
    } else if (strcmp(code, "resolve") == 0) {
        snprintf(message, size, "resolve %s failed: %s", server, detail);
    } else if (strcmp(code, "proxy") == 0) {
        /* The proxy URL is not repeated: it may carry a password. */
        snprintf(message, size, "proxy failed for %s: %s", server, detail);
    } else if (strcmp(code, "tls") == 0) {
        snprintf(message, size, "TLS with %s failed: %s", server, detail);
    } else if (strcmp(code, "send") == 0) {
        snprintf(message, size, "send to %s failed: %s", server, detail);
    } else if (strcmp(code, "receive") == 0) {
        snprintf(message, size, "receive from %s failed: %s", server, detail);
    } else if (strcmp(code, "protocol") == 0) {
        snprintf(message, size, "invalid answer from %s: %s", server, detail);
    } else if (strcmp(code, "invalid") == 0) {
        snprintf(message, size, "invalid URL: %s", detail);
    } else {
        snprintf(message, size, "request to %s failed: %s", server, detail);
    }
    return code;
}
