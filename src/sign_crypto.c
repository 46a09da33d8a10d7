/* The OpenSSL state of one signer: digest and MAC contexts fetched once, and the V4 signing key it last derived. */
#include "sign_crypto.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#define V4_KEY_PREFIX "aliyun_v4"

/* ---- contexts ---- */

static void release_crypto(oss_sign_crypto *crypto)
{
    /* Freeing a digest context wipes its state, so the pad states take the key's traces with them. */
    EVP_MD_CTX_free(crypto->v4_inner);
    EVP_MD_CTX_free(crypto->v4_outer);
    EVP_MAC_CTX_free(crypto->v1_mac);
    EVP_MAC_free(crypto->hmac);
    EVP_MD_CTX_free(crypto->digest);
    EVP_MD_CTX_free(crypto->md5_digest);
    EVP_MD_free(crypto->sha256);
    EVP_MD_free(crypto->md5);
    crypto->v4_inner = crypto->v4_outer = NULL;
    crypto->v1_mac = NULL;
    crypto->hmac = NULL;
    crypto->digest = crypto->md5_digest = NULL;
    crypto->sha256 = crypto->md5 = NULL;
}

static EVP_MAC_CTX *new_hmac_context(EVP_MAC *hmac, const char *digest_name)
{
    EVP_MAC_CTX *context = EVP_MAC_CTX_new(hmac);
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
    if (crypto->v1_mac != NULL)
        return 1;
    crypto->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    crypto->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    crypto->digest = EVP_MD_CTX_new();
    crypto->md5_digest = EVP_MD_CTX_new();
    crypto->v4_inner = EVP_MD_CTX_new();
    crypto->v4_outer = EVP_MD_CTX_new();
    crypto->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (crypto->sha256 != NULL && crypto->md5 != NULL && crypto->digest != NULL && crypto->md5_digest != NULL &&
        crypto->v4_inner != NULL &&
        crypto->v4_outer != NULL && crypto->hmac != NULL)
        crypto->v1_mac = new_hmac_context(crypto->hmac, "SHA1");
    if (crypto->v1_mac == NULL) {
        release_crypto(crypto);
        return 0;
    }
    return 1;
}

static int digest_with(EVP_MD_CTX *context, const EVP_MD *md, const void *data, size_t length, unsigned char *out)
{
    unsigned int out_length = 0;
    return EVP_DigestInit_ex2(context, md, NULL) && EVP_DigestUpdate(context, data, length) &&
           EVP_DigestFinal_ex(context, out, &out_length);
}

int oss_sign_crypto_sha256(oss_sign_crypto *crypto, const void *data, size_t length,
                           unsigned char out[OSS_SHA256_SIZE])
{
    return digest_with(crypto->digest, crypto->sha256, data, length, out);
}

int oss_sign_crypto_md5(oss_sign_crypto *crypto, const void *data, size_t length, unsigned char out[OSS_MD5_SIZE])
{
    return digest_with(crypto->md5_digest, crypto->md5, data, length, out);
}

static int hmac_with(EVP_MAC_CTX *context, const void *key, size_t key_length, const void *data, size_t length,
                     unsigned char *out, size_t out_size)
{
    size_t out_length = 0;
    return EVP_MAC_init(context, key, key_length, NULL) && EVP_MAC_update(context, data, length) &&
           EVP_MAC_final(context, out, &out_length, out_size);
}

/* ---- HMAC-SHA256 from precomputed pad states (RFC 2104 with a 32-byte key and SHA-256's 64-byte block) ---- */

#define SHA256_BLOCK 64

/* Absorbs key ^ ipad into v4_inner and key ^ opad into v4_outer. */
static int set_pad_states(oss_sign_crypto *crypto, const unsigned char key[OSS_SHA256_SIZE])
{
    unsigned char inner[SHA256_BLOCK], outer[SHA256_BLOCK];
    for (size_t i = 0; i < SHA256_BLOCK; i++) {
        unsigned char k = i < OSS_SHA256_SIZE ? key[i] : 0;
        inner[i] = (unsigned char)(k ^ 0x36);
        outer[i] = (unsigned char)(k ^ 0x5c);
    }
    int ok = EVP_DigestInit_ex2(crypto->v4_inner, crypto->sha256, NULL) &&
             EVP_DigestUpdate(crypto->v4_inner, inner, sizeof inner) &&
             EVP_DigestInit_ex2(crypto->v4_outer, crypto->sha256, NULL) &&
             EVP_DigestUpdate(crypto->v4_outer, outer, sizeof outer);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(outer, sizeof outer);
    return ok;
}

/* SHA-256(key ^ opad || SHA-256(key ^ ipad || data)), continuing the two pad states in the working context. The
 * inner digest is not wiped: it is a hash of the key mixed with public data, no more secret than the signature
 * the outer hash makes of it. */
static int hmac_from_pads(oss_sign_crypto *crypto, const void *data, size_t length, unsigned char out[OSS_SHA256_SIZE])
{
    unsigned char inner[OSS_SHA256_SIZE];
    unsigned int out_length = 0;
    int ok = EVP_MD_CTX_copy_ex(crypto->digest, crypto->v4_inner) && EVP_DigestUpdate(crypto->digest, data, length) &&
             EVP_DigestFinal_ex(crypto->digest, inner, &out_length) &&
             EVP_MD_CTX_copy_ex(crypto->digest, crypto->v4_outer) &&
             EVP_DigestUpdate(crypto->digest, inner, sizeof inner) &&
             EVP_DigestFinal_ex(crypto->digest, out, &out_length);
    return ok;
}

/* ---- the V4 signing key ---- */

/* The pad states are overwritten at the next derivation and wiped when their contexts are freed. */
static void cleanse_key(oss_sign_crypto *crypto)
{
    OPENSSL_cleanse(crypto->secret_digest, sizeof crypto->secret_digest);
    crypto->key_valid = 0;
}

/* HMAC-SHA256 chain from "aliyun_v4" .. secret over date, region, "oss", "aliyun_v4_request". */
static int derive_signing_key(const char *secret, size_t secret_length, const char *region, size_t region_length,
                              const char *date, unsigned char out[OSS_SHA256_SIZE])
{
    unsigned char on_stack[256];
    size_t prefix = sizeof V4_KEY_PREFIX - 1, total = prefix + secret_length;
    unsigned char *material = total <= sizeof on_stack ? on_stack : malloc(total);
    if (material == NULL)
        return 0;
    memcpy(material, V4_KEY_PREFIX, prefix);
    memcpy(material + prefix, secret, secret_length);
    unsigned char date_key[OSS_SHA256_SIZE], region_key[OSS_SHA256_SIZE], product_key[OSS_SHA256_SIZE];
    int ok =
        oss_hmac_sha256(material, total, date, 8, date_key) &&
        oss_hmac_sha256(date_key, sizeof date_key, region, region_length, region_key) &&
        oss_hmac_sha256(region_key, sizeof region_key, OSS_V4_PRODUCT, sizeof OSS_V4_PRODUCT - 1, product_key) &&
        oss_hmac_sha256(product_key, sizeof product_key, OSS_V4_TERMINATOR, sizeof OSS_V4_TERMINATOR - 1, out);
    OPENSSL_cleanse(material, total);
    OPENSSL_cleanse(date_key, sizeof date_key);
    OPENSSL_cleanse(region_key, sizeof region_key);
    OPENSSL_cleanse(product_key, sizeof product_key);
    if (material != on_stack)
        free(material);
    return ok;
}

/* Leaves the pad states keyed for (secret, date, region), deriving the key only when one of them changed. */
static int ensure_signing_key(oss_sign_crypto *crypto, const char *secret, size_t secret_length, int same_secret,
                              const char *region, size_t region_length, const char *date)
{
    int same_place = crypto->key_valid && memcmp(date, crypto->key_date, sizeof crypto->key_date) == 0 &&
                     crypto->key_region.length == region_length &&
                     memcmp(crypto->key_region.data, region, region_length) == 0;
    if (same_place && same_secret)
        return 1;
    unsigned char digest[OSS_SHA256_SIZE];
    if (!oss_sign_crypto_sha256(crypto, secret, secret_length, digest))
        return 0;
    int ok = same_place && CRYPTO_memcmp(digest, crypto->secret_digest, sizeof digest) == 0;
    if (!ok) {
        unsigned char key[OSS_SHA256_SIZE];
        cleanse_key(crypto);
        oss_buffer_reset(&crypto->key_region);
        oss_buffer_append(&crypto->key_region, region, region_length);
        ok = !crypto->key_region.failed &&
             derive_signing_key(secret, secret_length, region, region_length, date, key) &&
             set_pad_states(crypto, key);
        OPENSSL_cleanse(key, sizeof key);
        if (ok) {
            memcpy(crypto->secret_digest, digest, sizeof digest);
            memcpy(crypto->key_date, date, sizeof crypto->key_date);
            crypto->key_valid = 1;
        } else {
            cleanse_key(crypto);
        }
    }
    OPENSSL_cleanse(digest, sizeof digest);
    return ok;
}

/* ---- what the signer calls ---- */

void oss_sign_crypto_init(oss_sign_crypto *crypto)
{
    oss_buffer_init(&crypto->key_region);
}

void oss_sign_crypto_release(oss_sign_crypto *crypto)
{
    cleanse_key(crypto);
    OPENSSL_cleanse(crypto->key_date, sizeof crypto->key_date);
    oss_buffer_free(&crypto->key_region);
    release_crypto(crypto);
}

int oss_sign_crypto_v4_mac(oss_sign_crypto *crypto, const char *secret, size_t secret_length, int same_secret,
                           const char *region, size_t region_length, const char *date, const void *data,
                           size_t length, unsigned char out[OSS_SHA256_SIZE])
{
    return ensure_signing_key(crypto, secret, secret_length, same_secret, region, region_length, date) &&
           hmac_from_pads(crypto, data, length, out);
}

int oss_sign_crypto_v1_mac(oss_sign_crypto *crypto, const char *secret, size_t secret_length, const void *data,
                           size_t length, unsigned char out[OSS_SHA1_SIZE])
{
    return hmac_with(crypto->v1_mac, secret, secret_length, data, length, out, OSS_SHA1_SIZE);
}

int oss_sign_crypto_out_of_memory(const oss_sign_crypto *crypto)
{
    return crypto->key_region.failed;
}
