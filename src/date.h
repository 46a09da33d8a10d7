/* Unix seconds as the dates requests carry: ISO 8601 basic (V4) and the HTTP Date header (V1). */
#ifndef OSS_DATE_H
#define OSS_DATE_H

#include <lua.h>

typedef struct {
    int year, month, day, hour, minute, second, weekday; /* weekday 0 = Sunday */
} oss_civil_time;

/* Reads unix seconds at `index` into *out; misuse (not an integer, before 1970 or past 9999) raises, naming
 * `where`. */
void oss_check_time(lua_State *L, int index, const char *where, oss_civil_time *out);

/* The same check, returning the seconds, and the conversion on its own, for callers that convert only sometimes. */
long long oss_check_seconds(lua_State *L, int index, const char *where);
void oss_civil_from_seconds(long long seconds, oss_civil_time *out);

/* yyyymmddTHHMMSSZ into out[16]. */
void oss_format_iso8601(const oss_civil_time *t, char out[16]);

/* RFC 7231 IMF-fixdate, "Sat, 16 Dec 2023 16:20:57 GMT", into out[29]. */
void oss_format_http_date(const oss_civil_time *t, char out[29]);

/* Registers iso8601_time and http_date in the table on top. */
void oss_open_date(lua_State *L);

#endif
