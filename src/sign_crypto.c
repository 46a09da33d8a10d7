/* The OpenSSL state of one signer: its digests and HMAC contexts, and the V4 signing key it last derived. */
#include "sign_crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#define V4_KEY_PREFIX "aliyun_v4"

static EVP_MAC_CTX *new_hmac_context(const char *digest_name)
{
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *context = hmac != NULL ? EVP_MAC_CTX_new(hmac) : NULL;
    EVP_MAC_free(hmac); /* the context holds its own reference */
    OSSL_PARAM params[2];
    /* OSSL_PARAM only reads the name; its field is not const-qualified. */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest_name, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (context != NULL && !EVP_MAC_CTX_set_params(context, params)) {
        EVP_MAC_CTX_free(context);
        return NULL;
    }
    return context;
}

int oss_sign_crypto_acquire(oss_sign_crypto *crypto)
{
    if (crypto->sha256 == NULL)
        crypto->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (crypto->md5 == NULL)
        crypto->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    if (crypto->v4_deriving == NULL)
        crypto->v4_deriving = new_hmac_context("SHA256");
    if (crypto->v4_signing == NULL)
        crypto->v4_signing = new_hmac_context("SHA256");
    if (crypto->v1_signing == NULL)
        crypto->v1_signing = new_hmac_context("SHA1");
    return crypto->sha256 != NULL && crypto->md5 != NULL && crypto->v4_deriving != NULL &&
           crypto->v4_signing != NULL && crypto->v1_signing != NULL;
}

/* Freeing a MAC context wipes the key it holds. */
void oss_sign_crypto_release(oss_sign_crypto *crypto)
{
    OPENSSL_cleanse(crypto->secret_digest, sizeof crypto->secret_digest);
    crypto->key_valid = 0;
    EVP_MAC_CTX_free(crypto->v4_deriving);
    EVP_MAC_CTX_free(crypto->v4_signing);
    EVP_MAC_CTX_free(crypto->v1_signing);
    EVP_MD_free(crypto->sha256);
    EVP_MD_free(crypto->md5);
    crypto->v4_deriving = crypto->v4_signing = crypto->v1_signing = NULL;
    crypto->sha256 = crypto->md5 = NULL;
}

int oss_sign_crypto_sha256(const oss_sign_crypto *crypto, const void *data, size_t length,
                           unsigned char out[OSS_SHA256_SIZE])
{
    return EVP_Digest(data, length, out, NULL, crypto->sha256, NULL);
}

int oss_sign_crypto_md5(const oss_sign_crypto *crypto, const void *data, size_t length,
                        unsigned char out[OSS_MD5_SIZE])
{
    return EVP_Digest(data, length, out, NULL, crypto->md5, NULL);
}

static int hmac(EVP_MAC_CTX *context, const void *key, size_t key_length, const void *data, size_t length,
                unsigned char *out, size_t out_size)
{
    size_t out_length = 0;
    return EVP_MAC_init(context, key, key_length, NULL) && EVP_MAC_update(context, data, length) &&
           EVP_MAC_final(context, out, &out_length, out_size);
}

/* HMAC-SHA256 chain from "aliyun_v4" .. secret over date, region, "oss", "aliyun_v4_request". */
static oss_sign_status derive_key(EVP_MAC_CTX *context, const char *secret, size_t secret_length,
                                  const char *region, size_t region_length, const char *date,
                                  unsigned char out[OSS_SHA256_SIZE])
{
    unsigned char on_stack[256];
    size_t prefix = sizeof V4_KEY_PREFIX - 1, total = prefix + secret_length;
    unsigned char *material = total <= sizeof on_stack ? on_stack : malloc(total);
    if (material == NULL)
        return OSS_SIGN_OUT_OF_MEMORY;
    memcpy(material, V4_KEY_PREFIX, prefix);
    memcpy(material + prefix, secret, secret_length);
    unsigned char date_key[OSS_SHA256_SIZE], region_key[OSS_SHA256_SIZE], product_key[OSS_SHA256_SIZE];
    int ok = hmac(context, material, total, date, 8, date_key, OSS_SHA256_SIZE) &&
             hmac(context, date_key, sizeof date_key, region, region_length, region_key, OSS_SHA256_SIZE) &&
             hmac(context, region_key, sizeof region_key, OSS_V4_PRODUCT, sizeof OSS_V4_PRODUCT - 1, product_key,
                  OSS_SHA256_SIZE) &&
             hmac(context, product_key, sizeof product_key, OSS_V4_TERMINATOR, sizeof OSS_V4_TERMINATOR - 1, out,
                  OSS_SHA256_SIZE);
    OPENSSL_cleanse(material, total);
    OPENSSL_cleanse(date_key, sizeof date_key);
    OPENSSL_cleanse(region_key, sizeof region_key);
    OPENSSL_cleanse(product_key, sizeof product_key);
    if (material != on_stack)
        free(material);
    return ok ? OSS_SIGN_OK : OSS_SIGN_OPENSSL_FAILED;
}

/* Leaves v4_signing keyed for (secret, date, region), deriving the key only when one of them changed. */
static oss_sign_status ensure_key(oss_sign_crypto *crypto, const char *secret, size_t secret_length,
                                  const char *region, size_t region_length, const char *date)
{
    unsigned char secret_digest[OSS_SHA256_SIZE];
    if (!oss_sign_crypto_sha256(crypto, secret, secret_length, secret_digest))
        return OSS_SIGN_OPENSSL_FAILED;
    int cached = crypto->key_valid && CRYPTO_memcmp(secret_digest, crypto->secret_digest, sizeof secret_digest) == 0 &&
                 memcmp(date, crypto->date, sizeof crypto->date) == 0 && region_length == crypto->region_length &&
                 memcmp(region, crypto->region, region_length) == 0;
    if (cached) {
        OPENSSL_cleanse(secret_digest, sizeof secret_digest);
        return OSS_SIGN_OK;
    }
    crypto->key_valid = 0;
    unsigned char key[OSS_SHA256_SIZE];
    oss_sign_status status = derive_key(crypto->v4_deriving, secret, secret_length, region, region_length, date, key);
    if (status == OSS_SIGN_OK && !EVP_MAC_init(crypto->v4_signing, key, sizeof key, NULL))
        status = OSS_SIGN_OPENSSL_FAILED;
    OPENSSL_cleanse(key, sizeof key);
    if (status == OSS_SIGN_OK && region_length <= sizeof crypto->region) {
        memcpy(crypto->secret_digest, secret_digest, sizeof secret_digest);
        memcpy(crypto->date, date, sizeof crypto->date);
        memcpy(crypto->region, region, region_length);
        crypto->region_length = region_length;
        crypto->key_valid = 1;
    }
    OPENSSL_cleanse(secret_digest, sizeof secret_digest);
    return status;
}

oss_sign_status oss_sign_crypto_v4_mac(oss_sign_crypto *crypto, const char *secret, size_t secret_length,
                                       const char *region, size_t region_length, const char *date,
                                       const void *data, size_t length, unsigned char out[OSS_SHA256_SIZE])
{
    oss_sign_status status = ensure_key(crypto, secret, secret_length, region, region_length, date);
    if (status != OSS_SIGN_OK)
        return status;
    /* A NULL key starts over with the key the context already holds. */
    return hmac(crypto->v4_signing, NULL, 0, data, length, out, OSS_SHA256_SIZE) ? OSS_SIGN_OK
                                                                                : OSS_SIGN_OPENSSL_FAILED;
}

oss_sign_status oss_sign_crypto_v1_mac(oss_sign_crypto *crypto, const char *secret, size_t secret_length,
                                       const void *data, size_t length, unsigned char out[OSS_SHA1_SIZE])
{
    return hmac(crypto->v1_signing, secret, secret_length, data, length, out, OSS_SHA1_SIZE) ? OSS_SIGN_OK
                                                                                              : OSS_SIGN_OPENSSL_FAILED;
}
