/* Expat side of the XML reader: checks a document against its schema as bytes arrive and logs what it holds. */
#ifndef OSS_XML_PARSE_H
#define OSS_XML_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <expat.h>

#include "buffer.h"
#include "schema.h"

/* The event log: what Expat saw, already checked against the schema, for the reader to turn into tables once
 * Expat has returned. Each event is an oss_xml_event, then an unknown element's name, then a STRING's bytes. */
enum { OSS_XML_ENTER = 1, OSS_XML_LEAVE, OSS_XML_STRING, OSS_XML_BOOLEAN, OSS_XML_INTEGER };

/* How a value goes into its parent's table. */
enum {
    OSS_XML_FIELD,    /* a known element that appears once: parent[name] = value */
    OSS_XML_REPEATED, /* a known repeated element: appended to the array parent[name] */
    OSS_XML_UNKNOWN,  /* an element the schema does not know: a field, an array once its name repeats */
};

typedef struct {
    unsigned char kind;
    unsigned char storage;
    uint32_t key; /* known elements: oss_element.index; unknown ones: the length of their name, which fits one
                   * markup token and so OSS_XML_LONGEST_MARKUP */
    union {
        long long number; /* BOOLEAN (0 or 1) and INTEGER */
        size_t length;    /* STRING: its bytes; ENTER of a known container: how many keys its table needs room for */
    } value;
} oss_xml_event;

/* Expat rescans an unfinished token from its start whenever it is handed more bytes; a tag, comment or
 * processing instruction longer than this is refused, since no service document needs one. */
#define OSS_XML_LONGEST_MARKUP (64 * 1024)

/* Where an element or a text starts: a line and column, or for a document read whole, a byte offset into it. */
typedef struct {
    unsigned long long line, column;
    size_t offset;
} oss_xml_mark;

typedef struct {
    XML_Parser expat;        /* NULL once released */
    const oss_element *root; /* the owner keeps the schema alive */
    int failed;
    size_t max_depth, max_size;
    size_t fed;      /* bytes given to oss_xml_parser_feed */
    size_t handed;   /* bytes handed to Expat; those past its current position are an unfinished token it holds */
    size_t scanned;  /* bytes Expat was asked to scan, a held token counted again each time: linear in `fed` */
    oss_buffer waiting; /* bytes kept back until there are as many as Expat holds, so each rescan is paid for */
    oss_buffer frames;  /* the open elements */
    size_t depth;
    oss_buffer counts;  /* per open known container, how often each of its schema's children has appeared */
    oss_buffer names;   /* names of the open unknown elements (Expat's copy dies with its callback) */
    oss_buffer text;    /* character data since the last tag */
    oss_xml_mark text_start;
    const char *document; /* a document handed to Expat whole, which must outlive the parser's use of it */
    oss_buffer events;
    char error[512];
} oss_xml_parser;

/* Sets the limits and empties the buffers; nothing is allocated yet, so the parser can be released at once. */
void oss_xml_parser_init(oss_xml_parser *parser, size_t max_depth, size_t max_size);

/* Creates the Expat parser for documents whose root is `root`. Returns 0 when out of memory. */
int oss_xml_parser_start(oss_xml_parser *parser, const oss_element *root);

/* Takes the next bytes, and with `last` set, ends the document with them. Calls no Lua function and never
 * raises. Returns 1, or 0 once the document is known to be bad (the reason is in parser->error); once the
 * document has ended, 1 means parser->events holds all of it. */
int oss_xml_parser_feed(oss_xml_parser *parser, const char *bytes, size_t length, int last);

/* Records a failure found after the document ended, at Expat's last position. */
void oss_xml_parser_fail(oss_xml_parser *parser, const char *reason);

/* Frees Expat and the buffers; idempotent. */
void oss_xml_parser_release(oss_xml_parser *parser);

#endif
