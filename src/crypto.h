/* Digests, MACs and encodings for Lua, all through OpenSSL, and the base64 encoder the signer uses. */
#ifndef OSS_CRYPTO_H
#define OSS_CRYPTO_H

#include <stddef.h>

#include <lua.h>

#define OSS_MD5_SIZE 16
#define OSS_SHA1_SIZE 20
#define OSS_SHA256_SIZE 32

/* Writes base64 of `length` bytes plus a NUL to `out`, which must hold OSS_BASE64_SIZE(length) bytes. */
#define OSS_BASE64_SIZE(length) (4 * (((length) + 2) / 3) + 1)
size_t oss_base64_encode(const unsigned char *data, size_t length, char *out);

/* Registers md5, sha256, hmac_sha1, hmac_sha256, base64_encode, base64_decode and hex in the table on top. */
void oss_open_crypto(lua_State *L);

#endif
