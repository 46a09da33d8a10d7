/* The OpenSSL state of one signer: its digests and HMAC contexts, and the V4 signing key it last derived. */
#ifndef OSS_SIGN_CRYPTO_H
#define OSS_SIGN_CRYPTO_H

#include <stddef.h>

#include <openssl/evp.h>

#include "crypto.h"

/* The scope a V4 key and credential name after the date and the region. */
#define OSS_V4_PRODUCT "oss"
#define OSS_V4_TERMINATOR "aliyun_v4_request"

/* Why a signing call could not finish although the request was fine. */
typedef enum { OSS_SIGN_OK, OSS_SIGN_OUT_OF_MEMORY, OSS_SIGN_OPENSSL_FAILED } oss_sign_status;

/* Longer regions are signed with a key derived afresh each time. */
#define OSS_CACHED_REGION_MAX 64

typedef struct {
    /* The V4 key depends only on the secret, the day and the region, and deriving it takes four HMACs: it is kept,
     * as a context keyed with it, with what it was derived from. The secret itself is not kept, only its
     * SHA-256. */
    EVP_MAC_CTX *v4_signing;
    unsigned char secret_digest[OSS_SHA256_SIZE];
    char date[8];
    char region[OSS_CACHED_REGION_MAX];
    size_t region_length;
    int key_valid;
    /* Fetched once, on first use: the one-shot calls look each algorithm up by name on every call. */
    EVP_MD *sha256;
    EVP_MD *md5;
    EVP_MAC_CTX *v4_deriving; /* HMAC-SHA256 for the key's derivation */
    EVP_MAC_CTX *v1_signing;  /* HMAC-SHA1 */
} oss_sign_crypto;

/* Fetches the algorithms and builds the contexts unless that is done. Returns 0 if OpenSSL could not. Expects
 * zeroed memory the first time. */
int oss_sign_crypto_acquire(oss_sign_crypto *crypto);

/* Wipes the cached key and frees the contexts; idempotent. */
void oss_sign_crypto_release(oss_sign_crypto *crypto);

/* Each returns 1, or 0 if OpenSSL failed. */
int oss_sign_crypto_sha256(const oss_sign_crypto *crypto, const void *data, size_t length,
                           unsigned char out[OSS_SHA256_SIZE]);
int oss_sign_crypto_md5(const oss_sign_crypto *crypto, const void *data, size_t length,
                        unsigned char out[OSS_MD5_SIZE]);

/* HMAC-SHA256 of `data` with the V4 key for (secret, the yyyymmdd at `date`, region). */
oss_sign_status oss_sign_crypto_v4_mac(oss_sign_crypto *crypto, const char *secret, size_t secret_length,
                                       const char *region, size_t region_length, const char *date,
                                       const void *data, size_t length, unsigned char out[OSS_SHA256_SIZE]);
/* HMAC-SHA1 of `data` keyed with the secret, as V1 signs. */
oss_sign_status oss_sign_crypto_v1_mac(oss_sign_crypto *crypto, const char *secret, size_t secret_length,
                                       const void *data, size_t length, unsigned char out[OSS_SHA1_SIZE]);

#endif
