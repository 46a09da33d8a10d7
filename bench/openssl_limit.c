/* The limit for prepare: OpenSSL's own cost for what one V4 request needs, with every context made once. */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "bench_clock.h"

typedef struct {
    const char *body, *canonical_request, *string_to_sign;
    size_t body_length, canonical_length, string_to_sign_length;
    EVP_MD *md5, *sha256;
    EVP_MD_CTX *digest;
    EVP_MAC_CTX *mac; /* keyed once with the signing key, as a signer caching it would */
} v4_state;

/* MD5 of the body (Content-MD5), SHA-256 of the canonical request, HMAC-SHA256 of the string to sign. */
static int sign_once(void *opaque)
{
    v4_state *state = opaque;
    unsigned char md5[16], sha256[32], mac[32];
    unsigned int length = 0;
    size_t mac_length = 0;
    return EVP_DigestInit_ex2(state->digest, state->md5, NULL) &&
           EVP_DigestUpdate(state->digest, state->body, state->body_length) &&
           EVP_DigestFinal_ex(state->digest, md5, &length) &&
           EVP_DigestInit_ex2(state->digest, state->sha256, NULL) &&
           EVP_DigestUpdate(state->digest, state->canonical_request, state->canonical_length) &&
           EVP_DigestFinal_ex(state->digest, sha256, &length) && EVP_MAC_init(state->mac, NULL, 0, NULL) &&
           EVP_MAC_update(state->mac, (const unsigned char *)state->string_to_sign, state->string_to_sign_length) &&
           EVP_MAC_final(state->mac, mac, &mac_length, sizeof mac);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s BODY CANONICAL_REQUEST STRING_TO_SIGN\n", argv[0]);
        return 2;
    }
    v4_state state = {0};
    char *body = bench_read_file(argv[1], &state.body_length);
    char *canonical = bench_read_file(argv[2], &state.canonical_length);
    char *to_sign = bench_read_file(argv[3], &state.string_to_sign_length);
    state.body = body;
    state.canonical_request = canonical;
    state.string_to_sign = to_sign;
    state.md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    state.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    state.digest = EVP_MD_CTX_new();
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    state.mac = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    static const unsigned char signing_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    int ok = body != NULL && canonical != NULL && to_sign != NULL && state.md5 != NULL && state.sha256 != NULL &&
             state.digest != NULL && state.mac != NULL &&
             EVP_MAC_init(state.mac, signing_key, sizeof signing_key, params) &&
             bench_per_call("prepare.openssl_limit", sign_once, &state);
    if (!ok)
        fprintf(stderr, "openssl_limit: setup or a digest failed\n");
    EVP_MAC_CTX_free(state.mac);
    EVP_MAC_free(hmac);
    EVP_MD_CTX_free(state.digest);
    EVP_MD_free(state.sha256);
    EVP_MD_free(state.md5);
    free(body);
    free(canonical);
    free(to_sign);
    return ok ? 0 : 1;
}
