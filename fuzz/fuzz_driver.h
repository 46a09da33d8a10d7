/* What each libFuzzer target supplies to the shared driver: the Lua script that checks one input. */
#ifndef OSS_FUZZ_DRIVER_H
#define OSS_FUZZ_DRIVER_H

/* The script's name under fuzz/, e.g. "xml_read.lua". The script returns function(bytes); any error it raises is
 * a finding: the target aborts so libFuzzer keeps the input. */
extern const char oss_fuzz_script[];

#endif
