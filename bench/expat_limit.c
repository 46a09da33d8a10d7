/* The limit for parse: Expat reading the same list page with callbacks that do nothing. */
#include <stdio.h>
#include <stdlib.h>

#include <expat.h>

#include "bench_clock.h"

typedef struct {
    const char *page;
    size_t length;
    XML_Parser parser; /* reset between pages rather than made again, as a long-lived reader would */
} page_state;

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attributes)
{
    (void)data;
    (void)name;
    (void)attributes;
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
    (void)data;
    (void)name;
}

static void XMLCALL on_text(void *data, const XML_Char *text, int length)
{
    (void)data;
    (void)text;
    (void)length;
}

static int parse_once(void *opaque)
{
    page_state *state = opaque;
    if (!XML_ParserReset(state->parser, NULL))
        return 0;
    XML_SetElementHandler(state->parser, on_start, on_end);
    XML_SetCharacterDataHandler(state->parser, on_text);
    return XML_Parse(state->parser, state->page, (int)state->length, 1) == XML_STATUS_OK;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PAGE.xml\n", argv[0]);
        return 2;
    }
    page_state state = {0};
    char *page = bench_read_file(argv[1], &state.length);
    state.page = page;
    state.parser = XML_ParserCreate(NULL);
    int ok = page != NULL && state.parser != NULL && bench_per_call("parse.expat_limit", parse_once, &state);
    if (!ok)
        fprintf(stderr, "expat_limit: the page did not parse\n");
    if (state.parser != NULL)
        XML_ParserFree(state.parser);
    free(page);
    return ok ? 0 : 1;
}
