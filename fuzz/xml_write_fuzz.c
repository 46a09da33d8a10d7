/* libFuzzer target for the validator and XML writer (oss.core xml_write): the checks are in fuzz/xml_write.lua. */
#include "fuzz_driver.h"

const char oss_fuzz_script[] = "xml_write.lua";
