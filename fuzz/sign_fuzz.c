/* libFuzzer target for the signer's canonicalisation (encoding, query, V4 and V1): the checks are in fuzz/sign.lua. */
#include "fuzz_driver.h"

const char oss_fuzz_script[] = "sign.lua";
