/* What OSS accepts as a bucket name: the one rule, for request buckets and for the bucket of a destination ARN. */
#ifndef OSS_BUCKET_NAME_H
#define OSS_BUCKET_NAME_H

#include <stddef.h>

#include <lua.h>

/* 3 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit. */
int oss_is_bucket_name(const char *name, size_t length);

/* Adds is_bucket_name(name) -> boolean to the module table on top of the stack. */
void oss_open_bucket_name(lua_State *L);

#endif
