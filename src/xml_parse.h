/* Expat side of the XML reader: checks a document against its schema as bytes arrive and records it in C memory. */
#ifndef OSS_XML_PARSE_H
#define OSS_XML_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <expat.h>

#include "buffer.h"
#include "schema.h"

/* The event log: what Expat saw, already checked against the schema, for the reader's finish to turn into tables.
 * Each event is an oss_event, then the name's bytes (unknown elements only), then the value's bytes (STRING).
 * Known elements are logged by their schema index, so finish pushes each name once per document, not per event. */
enum { OSS_EVENT_ENTER = 1, OSS_EVENT_LEAVE, OSS_EVENT_STRING, OSS_EVENT_BOOLEAN, OSS_EVENT_INTEGER };
enum { OSS_EVENT_REPEATED = 1, OSS_EVENT_UNKNOWN = 2 };

typedef struct {
    unsigned char kind;
    unsigned char flags;
    uint32_t element;     /* known elements: oss_element.index */
    uint32_t size;        /* ENTER: the keys its table will hold; on the event that stores the first of repeated
                           * siblings: how many there are. Filled in when the parent closes; a hint, saturated */
    uint32_t name_length; /* unknown elements: the name's bytes follow the event (Expat keeps a name under 2 GiB) */
    size_t seen;          /* repeated known elements: 1-based place among their siblings */
    union {
        long long number; /* BOOLEAN (0 or 1) and INTEGER */
        size_t length;    /* STRING: the value's bytes follow (after the name) */
    } value;
} oss_event;

/* Where an element or a text starts, for error messages. While bytes stream in, Expat is asked for the line and
 * column at once; when the whole document is at hand, only its byte offset is kept and turned into a line and
 * column if an error needs it, so a good document costs no line counting at all. */
typedef struct {
    unsigned long long line, column;
    long long offset; /* into record->document, or -1 when line and column hold the position */
} oss_xml_mark;

typedef struct {
    XML_Parser parser;       /* NULL once released */
    const oss_element *root; /* the owner keeps the schema alive */
    int failed;
    size_t max_depth, max_size, fed;
    oss_buffer frames; /* the open elements */
    size_t depth;      /* how many: frames.length / the frame's size, kept rather than divided for */
    oss_buffer counts; /* slices of per-child counts, one per open known container */
    oss_buffer names;  /* names of the open unknown elements (Expat's copy dies with its callback) */
    oss_buffer text;   /* character data since the last tag */
    oss_xml_mark text_start;
    int text_marked;   /* text_start is set: some text arrived since the last tag */
    const char *document;    /* the UTF-8 document given whole to oss_xml_record_read_whole; errors count from it */
    size_t document_length;
    int ended;         /* Expat has had the document's last byte */
    oss_buffer events;
    char error[512];
} oss_xml_record;

/* Sets the limits and empties the buffers; nothing is allocated yet, so the record can be released at once. */
void oss_xml_record_init(oss_xml_record *record, size_t max_depth, size_t max_size);

/* Creates the Expat parser for documents whose root is `root`. Returns 0 when out of memory. */
int oss_xml_record_start(oss_xml_record *record, const oss_element *root);

/* Feeds the next bytes. Calls no Lua function and never raises. Returns 1, or 0 once the document is known to be
 * bad (the reason is in record->error). */
int oss_xml_record_feed(oss_xml_record *record, const char *bytes, size_t length);

/* Reads a whole document in one call (nothing fed before), and ends it. Returns 1 when record->events holds all
 * of it, 0 with the reason in record->error. `bytes` must stay alive until the record is released. */
int oss_xml_record_read_whole(oss_xml_record *record, const char *bytes, size_t length);

/* Ends the document (idempotent). Returns 1 when record->events holds all of it, 0 with the reason in record->error. */
int oss_xml_record_end(oss_xml_record *record);

/* Records a failure found after the document ended, at Expat's last position. */
void oss_xml_record_fail(oss_xml_record *record, const char *reason);

/* Frees the parser and the buffers; idempotent. */
void oss_xml_record_release(oss_xml_record *record);

#endif
