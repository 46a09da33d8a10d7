/* libcurl's own floor for throughput: the signed PUT replayed through one reused easy handle, options set once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bench_clock.h"

#define PUTS 5000

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
} replay;

/* The sink's answer is read and dropped, as the transport drops an empty 200 body. */
static size_t discard(char *data, size_t size, size_t count, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * count;
}

/* "Name: value" lines, as bench/fixtures.lua writes them for wrk; 0 when out of memory. */
static int add_headers(replay *state, char *lines)
{
    char *rest = NULL;
    for (char *line = strtok_r(lines, "\n", &rest); line != NULL; line = strtok_r(NULL, "\n", &rest)) {
        struct curl_slist *list = curl_slist_append(state->headers, line);
        if (list == NULL)
            return 0;
        state->headers = list;
    }
    /* The transport turns off the headers libcurl would add on its own: no Accept, and above all no Expect,
     * whose 100-continue round trip would dominate a 1 KB PUT. */
    static const char *const suppressed[] = {"Accept:", "Expect:"};
    for (size_t i = 0; i < sizeof suppressed / sizeof suppressed[0]; i++) {
        struct curl_slist *list = curl_slist_append(state->headers, suppressed[i]);
        if (list == NULL)
            return 0;
        state->headers = list;
    }
    return 1;
}

/* The options of lua-oss's transport that shape what goes on the wire or how libcurl waits. */
static int configure(replay *state, const char *url, const char *body, size_t body_length)
{
    CURL *curl = state->curl;
    return curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_PROXY, "") == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_NOPROXY, "") == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_HTTPHEADER, state->headers) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, discard) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT") == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length) == CURLE_OK &&
           curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body) == CURLE_OK;
}

static int put_once(replay *state)
{
    long status = 0;
    if (curl_easy_perform(state->curl) != CURLE_OK)
        return 0;
    curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &status);
    return status == 200;
}

/* Requests per second over `count` puts; 0 when one failed. */
static double put_rate(replay *state, long count)
{
    double started = bench_now();
    for (long i = 0; i < count; i++)
        if (!put_once(state))
            return 0;
    return (double)count / (bench_now() - started);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s URL BODY REQUEST_HEADERS\n", argv[0]);
        return 2;
    }
    size_t body_length = 0, headers_length = 0;
    char *body = bench_read_file(argv[2], &body_length);
    char *lines = bench_read_file(argv[3], &headers_length);
    char *headers = lines != NULL ? malloc(headers_length + 1) : NULL;
    if (headers != NULL) {
        memcpy(headers, lines, headers_length);
        headers[headers_length] = '\0';
    }
    replay state = {0};
    int initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    state.curl = initialised ? curl_easy_init() : NULL;
    long count = bench_smoke() ? 5 : PUTS;
    double rate = 0;
    /* One round per run: the runner alternates the contenders, as it does for lua-oss's own process. */
    if (body != NULL && headers != NULL && state.curl != NULL && add_headers(&state, headers) &&
        configure(&state, argv[1], body, body_length) && (bench_smoke() || put_rate(&state, count / 5) > 0))
        rate = put_rate(&state, count);
    if (rate > 0) {
        printf("result\tthroughput.curl_limit\t%.4f\t%.4f\t%.4f\treq/s\n", rate, rate, rate);
        fflush(stdout);
    } else {
        fprintf(stderr, "curl_limit: setup or a PUT failed\n");
    }
    if (state.curl != NULL)
        curl_easy_cleanup(state.curl);
    curl_slist_free_all(state.headers);
    if (initialised)
        curl_global_cleanup();
    free(headers);
    free(lines);
    free(body);
    return rate > 0 ? 0 : 1;
}
