/* OSS request signing (V4 OSS4-HMAC-SHA256 and V1 HMAC-SHA1): the oss.signer type and its canonicalisation. */
#ifndef OSS_SIGN_H
#define OSS_SIGN_H

#include <lua.h>

/* Registers signer, uri_encode and canonical_query in the table on top. */
void oss_open_sign(lua_State *L);

#endif
