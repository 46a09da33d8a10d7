/* Unix seconds as the dates requests carry: ISO 8601 basic (V4) and the HTTP Date header (V1). */
#include "date.h"

#include <string.h>

#include <lauxlib.h>

#include "compat.h"

/* 9999-12-31T23:59:59Z: past it the four-digit year of both date formats overflows. */
#define LATEST_TIME 253402300799LL

/* Days since 1970-01-01 to a proleptic Gregorian date, counting in 400-year eras that start on 1 March so the
 * leap day falls at the end of each year. */
static void civil_from_unix(long long seconds, oss_civil_time *out)
{
    long long days = seconds / 86400, rest = seconds % 86400;
    long long shifted = days + 719468; /* days from 0000-03-01 to 1970-01-01 */
    long long era = shifted / 146097;
    long long day_of_era = shifted - era * 146097;
    long long year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    long long day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    long long month_index = (5 * day_of_year + 2) / 153; /* 0 = March */
    out->day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    out->month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    out->year = (int)(year_of_era + era * 400 + (out->month <= 2));
    out->hour = (int)(rest / 3600);
    out->minute = (int)(rest / 60 % 60);
    out->second = (int)(rest % 60);
    out->weekday = (int)((days + 4) % 7); /* 1970-01-01 was a Thursday */
}

static char *put_digits(char *out, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return out + width;
}

void oss_format_iso8601(const oss_civil_time *t, char out[16])
{
    char *p = put_digits(out, t->year, 4);
    p = put_digits(p, t->month, 2);
    p = put_digits(p, t->day, 2);
    *p++ = 'T';
    p = put_digits(p, t->hour, 2);
    p = put_digits(p, t->minute, 2);
    p = put_digits(p, t->second, 2);
    *p = 'Z';
}

void oss_format_http_date(const oss_civil_time *t, char out[29])
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    memcpy(out, days + 3 * t->weekday, 3);
    memcpy(out + 3, ", ", 2);
    char *p = put_digits(out + 5, t->day, 2);
    *p++ = ' ';
    memcpy(p, months + 3 * (t->month - 1), 3);
    p += 3;
    *p++ = ' ';
    p = put_digits(p, t->year, 4);
    *p++ = ' ';
    p = put_digits(p, t->hour, 2);
    *p++ = ':';
    p = put_digits(p, t->minute, 2);
    *p++ = ':';
    p = put_digits(p, t->second, 2);
    memcpy(p, " GMT", 4);
}

long long oss_check_seconds(lua_State *L, int index, const char *where)
{
    lua_Integer seconds;
    if (!oss_tointeger(L, index, &seconds))
        luaL_error(L, "%s: expected integer unix seconds, got %s", where, luaL_typename(L, index));
    if (seconds < 0 || (long long)seconds > LATEST_TIME)
        luaL_error(L, "%s: out of range (0 to %d-12-31)", where, 9999);
    return (long long)seconds;
}

void oss_civil_from_seconds(long long seconds, oss_civil_time *out)
{
    civil_from_unix(seconds, out);
}

void oss_check_time(lua_State *L, int index, const char *where, oss_civil_time *out)
{
    civil_from_unix(oss_check_seconds(L, index, where), out);
}

/* iso8601_time(t) -> "20231216T162057Z" */
static int lua_iso8601_time(lua_State *L)
{
    oss_civil_time time;
    char text[16];
    oss_check_time(L, 1, "iso8601_time", &time);
    oss_format_iso8601(&time, text);
    lua_pushlstring(L, text, sizeof text);
    return 1;
}

/* http_date(t) -> "Sat, 16 Dec 2023 16:20:57 GMT" */
static int lua_http_date(lua_State *L)
{
    oss_civil_time time;
    char text[29];
    oss_check_time(L, 1, "http_date", &time);
    oss_format_http_date(&time, text);
    lua_pushlstring(L, text, sizeof text);
    return 1;
}

void oss_open_date(lua_State *L)
{
    lua_pushcfunction(L, lua_iso8601_time);
    lua_setfield(L, -2, "iso8601_time");
    lua_pushcfunction(L, lua_http_date);
    lua_setfield(L, -2, "http_date");
}
