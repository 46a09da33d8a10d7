/* Digests, MACs and encodings for Lua, all through OpenSSL, and the base64 encoder the signer uses. */
#include "crypto.h"

#include <limits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "compat.h"

static int hmac(const EVP_MD *md, const void *key, size_t key_length, const void *data, size_t length,
                unsigned char *out)
{
    unsigned int out_length = 0;
    if (key_length > (size_t)INT_MAX)
        return 0;
    return HMAC(md, key, (int)key_length, data, length, out, &out_length) != NULL;
}

size_t oss_base64_encode(const unsigned char *data, size_t length, char *out)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *start = out;
    size_t i = 0;
    for (; i + 3 <= length; i += 3) {
        unsigned long triple = ((unsigned long)data[i] << 16) | ((unsigned long)data[i + 1] << 8) | data[i + 2];
        *out++ = alphabet[(triple >> 18) & 63];
        *out++ = alphabet[(triple >> 12) & 63];
        *out++ = alphabet[(triple >> 6) & 63];
        *out++ = alphabet[triple & 63];
    }
    if (i < length) {
        unsigned long triple = (unsigned long)data[i] << 16;
        if (i + 1 < length)
            triple |= (unsigned long)data[i + 1] << 8;
        *out++ = alphabet[(triple >> 18) & 63];
        *out++ = alphabet[(triple >> 12) & 63];
        *out++ = i + 1 < length ? alphabet[(triple >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
    return (size_t)(out - start);
}

static int base64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Strict RFC 4648 decoding: padding required, no whitespace, no trailing garbage. Returns the length or -1. */
static long base64_decode(const unsigned char *in, size_t length, unsigned char *out)
{
    if (length % 4 != 0)
        return -1;
    long written = 0;
    for (size_t i = 0; i < length; i += 4) {
        int last = i + 4 == length;
        int a = base64_value(in[i]), b = base64_value(in[i + 1]);
        int c = in[i + 2] == '=' && last ? -2 : base64_value(in[i + 2]);
        int d = in[i + 3] == '=' && last ? -2 : base64_value(in[i + 3]);
        if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2))
            return -1;
        out[written++] = (unsigned char)((a << 2) | (b >> 4));
        if (c >= 0)
            out[written++] = (unsigned char)(((b & 15) << 4) | (c >> 2));
        if (d >= 0)
            out[written++] = (unsigned char)(((c & 3) << 6) | d);
    }
    return written;
}

/* digest(data) for the Lua API: the raw bytes of `md` over the string at index 1. */
static int push_digest(lua_State *L, const EVP_MD *md, const char *name)
{
    size_t length;
    const char *data = luaL_checklstring(L, 1, &length);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_length = 0;
    if (EVP_Digest(data, length, out, &out_length, md, NULL) != 1)
        return luaL_error(L, "%s: OpenSSL failed", name);
    lua_pushlstring(L, (const char *)out, out_length);
    return 1;
}

/* hmac(key, data) for the Lua API: the raw HMAC bytes of `md`. */
static int push_hmac(lua_State *L, const EVP_MD *md, const char *name)
{
    size_t key_length, length;
    const char *key = luaL_checklstring(L, 1, &key_length);
    const char *data = luaL_checklstring(L, 2, &length);
    unsigned char out[EVP_MAX_MD_SIZE];
    if (!hmac(md, key, key_length, data, length, out))
        return luaL_error(L, "%s: OpenSSL failed", name);
    lua_pushlstring(L, (const char *)out, (size_t)EVP_MD_get_size(md));
    return 1;
}

static int lua_md5(lua_State *L)
{
    return push_digest(L, EVP_md5(), "md5");
}

static int lua_sha256(lua_State *L)
{
    return push_digest(L, EVP_sha256(), "sha256");
}

static int lua_hmac_sha1(lua_State *L)
{
    return push_hmac(L, EVP_sha1(), "hmac_sha1");
}

static int lua_hmac_sha256(lua_State *L)
{
    return push_hmac(L, EVP_sha256(), "hmac_sha256");
}

/* Large inputs get a Lua-owned scratch userdata so an allocation error cannot leak a malloc'd block. */
static void *scratch(lua_State *L, size_t size)
{
    return oss_newuserdata(L, size ? size : 1);
}

static int lua_base64_encode(lua_State *L)
{
    size_t length;
    const char *data = luaL_checklstring(L, 1, &length);
    char *out = scratch(L, OSS_BASE64_SIZE(length));
    size_t written = oss_base64_encode((const unsigned char *)data, length, out);
    lua_pushlstring(L, out, written);
    return 1;
}

static int lua_base64_decode(lua_State *L)
{
    size_t length;
    const char *data = luaL_checklstring(L, 1, &length);
    unsigned char *out = scratch(L, length / 4 * 3);
    long written = base64_decode((const unsigned char *)data, length, out);
    if (written < 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "invalid base64");
        return 2;
    }
    lua_pushlstring(L, (const char *)out, (size_t)written);
    return 1;
}

static int lua_hex(lua_State *L)
{
    size_t length;
    const char *data = luaL_checklstring(L, 1, &length);
    static const char digits[] = "0123456789abcdef";
    char *out = scratch(L, length * 2);
    for (size_t i = 0; i < length; i++) {
        out[2 * i] = digits[(unsigned char)data[i] >> 4];
        out[2 * i + 1] = digits[(unsigned char)data[i] & 15];
    }
    lua_pushlstring(L, out, length * 2);
    return 1;
}

/* random_bytes(count) -> bytes from OpenSSL's generator, for what must not be guessed or repeated (nonces, the
 * emulator's issued secrets and temporary names); raises when the generator cannot deliver. */
static int lua_random_bytes(lua_State *L)
{
    lua_Integer count = luaL_checkinteger(L, 1);
    luaL_argcheck(L, count >= 0 && count <= 1024, 1, "expected 0 to 1024 bytes");
    unsigned char *out = (unsigned char *)scratch(L, (size_t)count);
    if (count > 0 && RAND_bytes(out, (int)count) != 1)
        return luaL_error(L, "random_bytes: OpenSSL's generator failed");
    lua_pushlstring(L, (const char *)out, (size_t)count);
    return 1;
}

void oss_open_crypto(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"md5", lua_md5},
        {"sha256", lua_sha256},
        {"hmac_sha1", lua_hmac_sha1},
        {"hmac_sha256", lua_hmac_sha256},
        {"base64_encode", lua_base64_encode},
        {"base64_decode", lua_base64_decode},
        {"hex", lua_hex},
        {"random_bytes", lua_random_bytes},
        {NULL, NULL},
    };
    oss_setfuncs(L, functions);
}
