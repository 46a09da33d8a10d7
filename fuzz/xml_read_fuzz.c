/* libFuzzer target for the XML reader (oss.core xml_read, xml_reader): the checks are in fuzz/xml_read.lua. */
#include "fuzz_driver.h"

const char oss_fuzz_script[] = "xml_read.lua";
