/* The OpenSSL state of one signer: digest and MAC contexts fetched once, and the V4 signing key it last derived. */
#ifndef OSS_SIGN_CRYPTO_H
#define OSS_SIGN_CRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

#include "buffer.h"
#include "crypto.h"

/* The scope a V4 key and credential name after the date and the region. */
#define OSS_V4_PRODUCT "oss"
#define OSS_V4_TERMINATOR "aliyun_v4_request"

typedef struct {
    /* V4 signing key cache: the key depends only on the secret, the day and the region. The secret itself is not
     * kept: its SHA-256 is enough to notice a change. The key is kept only as the two SHA-256 states HMAC starts
     * from (after absorbing key ^ ipad and key ^ opad), so that a request pays for its own blocks alone. */
    unsigned char secret_digest[OSS_SHA256_SIZE];
    char key_date[8];
    oss_buffer key_region;
    int key_valid; /* secret_digest, key_date, key_region and the two pad states agree */
    /* One-shot EVP_Digest and HMAC look their algorithm up by name and build a context on every call; a signer
     * fetches once, on first use, and reuses its contexts. */
    EVP_MD *sha256;
    EVP_MD *md5;
    /* One context per algorithm: starting a context on another algorithm than its last frees and allocates its
     * state, which the body's MD5 and the canonical request's SHA-256 would otherwise do twice per request. */
    EVP_MD_CTX *digest;    /* SHA-256 of a canonical request, and the V4 MAC's working state */
    EVP_MD_CTX *md5_digest; /* MD5 of a body */
    EVP_MD_CTX *v4_inner;  /* SHA-256 after key ^ ipad */
    EVP_MD_CTX *v4_outer;  /* SHA-256 after key ^ opad */
    EVP_MAC *hmac;
    EVP_MAC_CTX *v1_mac;
} oss_sign_crypto;

/* Expects zeroed memory; allocates nothing. */
void oss_sign_crypto_init(oss_sign_crypto *crypto);

/* Fetches the algorithms and builds the contexts unless that is done. Returns 0 if OpenSSL could not. */
int oss_sign_crypto_acquire(oss_sign_crypto *crypto);

/* Wipes the cached key and frees everything; idempotent. */
void oss_sign_crypto_release(oss_sign_crypto *crypto);

/* Each returns 1, or 0 if OpenSSL failed (or, for the V4 MAC, memory ran out: see oss_sign_crypto_out_of_memory). */
int oss_sign_crypto_sha256(oss_sign_crypto *crypto, const void *data, size_t length,
                           unsigned char out[OSS_SHA256_SIZE]);
int oss_sign_crypto_md5(oss_sign_crypto *crypto, const void *data, size_t length, unsigned char out[OSS_MD5_SIZE]);
/* HMAC-SHA256 of `data` with the V4 key for (secret, the yyyymmdd at `date`, region), derived only on a change.
 * `same_secret` promises that the secret is the very one the cached key was last derived from (the caller holds
 * it unchanged), which spares hashing it to find out. */
int oss_sign_crypto_v4_mac(oss_sign_crypto *crypto, const char *secret, size_t secret_length, int same_secret,
                           const char *region, size_t region_length, const char *date, const void *data,
                           size_t length, unsigned char out[OSS_SHA256_SIZE]);
/* HMAC-SHA1 of `data` keyed with the secret, as V1 signs. */
int oss_sign_crypto_v1_mac(oss_sign_crypto *crypto, const char *secret, size_t secret_length, const void *data,
                           size_t length, unsigned char out[OSS_SHA1_SIZE]);

/* Whether caching the V4 key ran out of memory. */
int oss_sign_crypto_out_of_memory(const oss_sign_crypto *crypto);

#endif
