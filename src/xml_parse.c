/* Expat side of the XML reader: checks a document against its schema as bytes arrive and logs what it holds. */
#include "xml_parse.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define QUOTED_VALUE_BYTES 40
/* XML_Parse takes an int length. Slices are longer than the longest markup, so that handing the next slice
 * always pays for rescanning what Expat holds of the last. */
#define SLICE (1 << 20)

typedef struct {
    const oss_element *element; /* NULL for an element the schema does not know */
    size_t name_offset;         /* unknown elements: the name's copy in parser->names */
    size_t name_length;
    size_t counts_offset;       /* known containers: their children's counts in parser->counts */
    size_t index;               /* 1-based among repeated siblings (for paths), 0 when not repeated */
    size_t next_child;          /* where the next child's lookup starts: documents follow the schema's order */
    oss_xml_mark start;         /* of its start tag, for a boolean or integer refused at its end tag */
    int is_container;           /* a known container, or an unknown element once a child appears */
} frame;

/* ---- errors: kept in the parser, since nothing may raise while Expat runs ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void fail_at(oss_xml_parser *parser, unsigned long long line, unsigned long long column, const char *format,
                    ...)
{
    if (parser->failed)
        return;
    parser->failed = 1;
    int used = snprintf(parser->error, sizeof parser->error, "line %llu, column %llu: ", line, column);
    if (used < 0 || (size_t)used >= sizeof parser->error)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(parser->error + used, sizeof parser->error - (size_t)used, format, arguments);
    va_end(arguments);
}

static unsigned long long current_line(const oss_xml_parser *parser)
{
    return (unsigned long long)XML_GetCurrentLineNumber(parser->expat);
}

/* Expat counts columns from 0; editors and our messages count from 1. */
static unsigned long long current_column(const oss_xml_parser *parser)
{
    return (unsigned long long)XML_GetCurrentColumnNumber(parser->expat) + 1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail_here(oss_xml_parser *parser, const char *format, ...)
{
    char reason[sizeof parser->error];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof reason, format, arguments);
    va_end(arguments);
    fail_at(parser, current_line(parser), current_column(parser), "%s", reason);
}

/* Remembers where an element or a text starts, for an error found later. A document read whole is one final
 * XML_Parse, in which Expat counts no lines unless asked: its marks keep a byte offset, and only an error has a
 * bare Expat parser count up to it. */
static void mark_here(const oss_xml_parser *parser, oss_xml_mark *mark)
{
    if (parser->document != NULL) {
        mark->offset = (size_t)XML_GetCurrentByteIndex(parser->expat);
        return;
    }
    mark->line = current_line(parser);
    mark->column = current_column(parser);
}

/* Marks fall between tokens, so a parser handed the bytes before one has consumed all of them. */
static void count_up_to(const oss_xml_parser *parser, oss_xml_mark *mark)
{
    XML_Parser counter = XML_ParserCreate(NULL);
    mark->line = mark->column = 0;
    if (counter != NULL && XML_Parse(counter, parser->document, (int)mark->offset, XML_FALSE) == XML_STATUS_OK) {
        mark->line = (unsigned long long)XML_GetCurrentLineNumber(counter);
        mark->column = (unsigned long long)XML_GetCurrentColumnNumber(counter) + 1;
    }
    if (counter != NULL)
        XML_ParserFree(counter);
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void fail_at_mark(oss_xml_parser *parser, oss_xml_mark mark, const char *format, ...)
{
    if (parser->document != NULL)
        count_up_to(parser, &mark);
    char reason[sizeof parser->error];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof reason, format, arguments);
    va_end(arguments);
    fail_at(parser, mark.line, mark.column, "%s", reason);
}

/* Ends the parse from inside a handler; Expat may still deliver an event or two, which the handlers ignore. */
static void stop(oss_xml_parser *parser)
{
    XML_StopParser(parser->expat, XML_FALSE);
}

/* Asked after every event, so one test of all the flags rather than a branch each. */
static inline int out_of_memory(const oss_xml_parser *parser)
{
    return (parser->frames.failed | parser->counts.failed | parser->names.failed | parser->text.failed |
            parser->events.failed | parser->waiting.failed) != 0;
}

static inline void check_memory(oss_xml_parser *parser)
{
    if (out_of_memory(parser) && !parser->failed) {
        fail_here(parser, "out of memory");
        stop(parser);
    }
}

/* ---- the open elements ---- */

static frame *frame_at(const oss_xml_parser *parser, size_t level)
{
    return (frame *)(void *)parser->frames.data + level;
}

static frame *top(const oss_xml_parser *parser)
{
    return frame_at(parser, parser->depth - 1);
}

static size_t *counts_of(const oss_xml_parser *parser, const frame *f)
{
    return (size_t *)(void *)(parser->counts.data + f->counts_offset);
}

static const char *name_of(const oss_xml_parser *parser, const frame *f)
{
    return f->element != NULL ? f->element->name : parser->names.data + f->name_offset;
}

/* Copies a value or name into a message on one line and at a bounded length. */
static void quote(char *out, size_t size, const char *text, size_t length)
{
    size_t kept = length < QUOTED_VALUE_BYTES ? length : QUOTED_VALUE_BYTES;
    while (kept > 0 && kept < length && ((unsigned char)text[kept] & 0xC0) == 0x80)
        kept--; /* never cut a UTF-8 sequence in two */
    if (kept + 4 > size)
        kept = 0;
    for (size_t i = 0; i < kept; i++) {
        unsigned char c = (unsigned char)text[i];
        out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    snprintf(out + kept, size - kept, "%s", kept < length ? "..." : "");
}

/* "Destination.OSSBucketDestination.Prefix", "OptionalFields.Field[3]": the path as a script writes it; the root
 * element is never part of it, except for errors about the root itself. */
static void format_path(const oss_xml_parser *parser, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    if (parser->depth == 1) {
        snprintf(out, size, "%s", parser->root->name);
        return;
    }
    for (size_t level = 1; level < parser->depth && used < size; level++) {
        const frame *f = frame_at(parser, level);
        char name[QUOTED_VALUE_BYTES + 4];
        quote(name, sizeof name, name_of(parser, f), f->name_length);
        int written = f->index > 0 ? snprintf(out + used, size - used, "%s%s[%zu]", level > 1 ? "." : "", name, f->index)
                                   : snprintf(out + used, size - used, "%s%s", level > 1 ? "." : "", name);
        if (written < 0)
            break;
        used += (size_t)written;
    }
}

static void fail_here_with_path(oss_xml_parser *parser, const char *reason)
{
    char path[256];
    format_path(parser, path, sizeof path);
    fail_here(parser, "%s: %s", path, reason);
    stop(parser);
}

static void push_frame(oss_xml_parser *parser, const oss_element *element, const char *name, size_t name_length,
                       size_t index)
{
    size_t counts_offset = parser->counts.length, name_offset = parser->names.length;
    int is_container = element != NULL && element->type == OSS_TYPE_CONTAINER;
    if (element == NULL)
        oss_buffer_append(&parser->names, name, name_length);
    if (is_container && oss_buffer_reserve(&parser->counts, element->child_count * sizeof(size_t))) {
        memset(parser->counts.data + parser->counts.length, 0, element->child_count * sizeof(size_t));
        parser->counts.length += element->child_count * sizeof(size_t);
    }
    if (!oss_buffer_reserve(&parser->frames, sizeof(frame)))
        return;
    frame *f = (frame *)(void *)(parser->frames.data + parser->frames.length);
    parser->frames.length += sizeof(frame);
    parser->depth++;
    memset(f, 0, sizeof *f);
    f->element = element;
    f->name_offset = name_offset;
    f->name_length = name_length;
    f->counts_offset = counts_offset;
    f->index = index;
    f->is_container = is_container;
    /* Only a boolean's or an integer's value can be refused, and that error points at the start tag. */
    if (element != NULL && (element->type == OSS_TYPE_BOOLEAN || element->type == OSS_TYPE_INTEGER))
        mark_here(parser, &f->start);
}

static void pop_frame(oss_xml_parser *parser)
{
    const frame *f = top(parser);
    parser->names.length = f->name_offset;
    parser->counts.length = f->counts_offset;
    parser->frames.length -= sizeof(frame);
    parser->depth--;
}

/* The child of a known container called `name`: tried first where the last one was found, since documents
 * list children in the schema's order. Most tries fail, and fail on the first byte. */
static const oss_element *find_child(frame *parent, const char *name)
{
    const oss_element *children = parent->element->children;
    size_t count = parent->element->child_count;
    for (size_t tried = 0, i = parent->next_child; tried < count; tried++, i = i + 1 < count ? i + 1 : 0) {
        if (children[i].name[0] == name[0] && strcmp(children[i].name, name) == 0) {
            parent->next_child = i;
            return &children[i];
        }
    }
    return NULL;
}

/* ---- the event log ---- */

static oss_xml_event event_of(unsigned char kind, const frame *f)
{
    oss_xml_event event;
    memset(&event, 0, sizeof event);
    event.kind = kind;
    if (f->element == NULL) {
        event.storage = OSS_XML_UNKNOWN;
        event.key = (uint32_t)f->name_length;
    } else {
        event.storage = f->element->repeated ? OSS_XML_REPEATED : OSS_XML_FIELD;
        event.key = (uint32_t)f->element->index;
    }
    return event;
}

/* Logs an event with the name of an unknown element; a STRING's bytes are the caller's to append. */
static void log_event(oss_xml_parser *parser, const oss_xml_event *event, const frame *f)
{
    oss_buffer_append(&parser->events, event, sizeof *event);
    if (event->kind != OSS_XML_LEAVE && f->element == NULL)
        oss_buffer_append(&parser->events, name_of(parser, f), f->name_length);
}

/* ---- leaf values ---- */

static int is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **text, size_t *length)
{
    while (*length > 0 && is_xml_space(**text))
        (*text)++, (*length)--;
    while (*length > 0 && is_xml_space((*text)[*length - 1]))
        (*length)--;
}

static int parse_boolean(const char *text, size_t length, long long *out)
{
    trim(&text, &length);
    if (length == 4 && memcmp(text, "true", 4) == 0)
        *out = 1;
    else if (length == 5 && memcmp(text, "false", 5) == 0)
        *out = 0;
    else
        return 0;
    return 1;
}

/* An optional '-' and decimal digits that fit an int64; nothing else (no '+', no exponent, no fraction). */
static int parse_integer(const char *text, size_t length, long long *out)
{
    trim(&text, &length);
    int negative = length > 0 && text[0] == '-';
    size_t i = negative ? 1 : 0;
    if (i == length)
        return 0;
    /* Accumulate downwards: the negative range is one larger, so INT64_MIN parses too. */
    long long value = 0;
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return 0;
        int digit = text[i] - '0';
        if (value < (LLONG_MIN + digit) / 10)
            return 0;
        value = value * 10 - digit;
    }
    if (!negative) {
        if (value == LLONG_MIN)
            return 0;
        value = -value;
    }
    *out = value;
    return 1;
}

static void log_leaf(oss_xml_parser *parser, const frame *f)
{
    const char *text = parser->text.data ? parser->text.data : "";
    size_t length = parser->text.length;
    oss_type type = f->element ? f->element->type : OSS_TYPE_STRING;
    if (type == OSS_TYPE_STRING) {
        oss_xml_event event = event_of(OSS_XML_STRING, f);
        event.value.length = length;
        log_event(parser, &event, f);
        oss_buffer_append(&parser->events, text, length);
        return;
    }
    int boolean = type == OSS_TYPE_BOOLEAN;
    oss_xml_event event = event_of(boolean ? OSS_XML_BOOLEAN : OSS_XML_INTEGER, f);
    if (!(boolean ? parse_boolean(text, length, &event.value.number)
                  : parse_integer(text, length, &event.value.number))) {
        char path[256], quoted[QUOTED_VALUE_BYTES + 4];
        format_path(parser, path, sizeof path);
        quote(quoted, sizeof quoted, text, length);
        fail_at_mark(parser, f->start, "%s: expected %s, got \"%s\"", path,
                boolean ? "true or false" : "a 64-bit integer", quoted);
        return;
    }
    log_event(parser, &event, f);
}

/* ---- Expat handlers: C only, no Lua ---- */

/* Expat has already scanned markup this long, so the refusal only keeps a document that carries it from
 * being read whole when it would be refused in pieces. */
static int refuse_long_markup(oss_xml_parser *parser)
{
    if (XML_GetCurrentByteCount(parser->expat) <= OSS_XML_LONGEST_MARKUP)
        return 0;
    fail_here(parser, "markup longer than %d bytes", OSS_XML_LONGEST_MARKUP);
    stop(parser);
    return 1;
}

static void start_root(oss_xml_parser *parser, const char *name)
{
    if (strcmp(name, parser->root->name) != 0) {
        char quoted[QUOTED_VALUE_BYTES + 4];
        quote(quoted, sizeof quoted, name, strlen(name));
        fail_here(parser, "expected root element <%s>, got <%s>", parser->root->name, quoted);
        stop(parser);
        return;
    }
    push_frame(parser, parser->root, name, parser->root->name_length, 0);
}

/* Text between a container's tags must be layout only. It is judged when the next tag arrives, from where it
 * starts, so the verdict does not depend on how the document was split into chunks. */
static int check_layout_text(oss_xml_parser *parser)
{
    const char *text = parser->text.data;
    size_t length = parser->text.length;
    trim(&text, &length);
    if (length == 0)
        return 1;
    char path[256], quoted[QUOTED_VALUE_BYTES + 4];
    format_path(parser, path, sizeof path);
    quote(quoted, sizeof quoted, text, length);
    fail_at_mark(parser, parser->text_start, "%s: text \"%s\" where only elements are allowed", path, quoted);
    stop(parser);
    return 0;
}

static const char *type_name(oss_type type)
{
    return type == OSS_TYPE_BOOLEAN ? "boolean" : type == OSS_TYPE_INTEGER ? "integer" : "string";
}

/* The parent has a child element, so it is a container (an unknown element becomes one here). */
static int become_container(oss_xml_parser *parser, frame *parent, const char *child)
{
    if (parent->element != NULL && parent->element->type != OSS_TYPE_CONTAINER) {
        char reason[128], quoted[QUOTED_VALUE_BYTES + 4];
        quote(quoted, sizeof quoted, child, strlen(child));
        snprintf(reason, sizeof reason, "a %s value cannot contain the element <%s>", type_name(parent->element->type),
                 quoted);
        fail_here_with_path(parser, reason);
        return 0;
    }
    if (parser->text.length > 0 && !check_layout_text(parser))
        return 0;
    if (!parent->is_container) {
        parent->is_container = 1;
        oss_xml_event event = event_of(OSS_XML_ENTER, parent);
        log_event(parser, &event, parent);
    }
    oss_buffer_reset(&parser->text);
    return 1;
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attributes)
{
    oss_xml_parser *parser = data;
    (void)attributes; /* the service's documents carry none */
    if (parser->failed || refuse_long_markup(parser))
        return;
    if (parser->depth == 0) {
        start_root(parser, name);
        check_memory(parser);
        return;
    }
    if (parser->depth >= parser->max_depth) {
        fail_here(parser, "elements nested more than %zu deep", parser->max_depth);
        stop(parser);
        return;
    }
    frame *parent = top(parser);
    if (!become_container(parser, parent, name))
        return;
    const oss_element *element = parent->element ? find_child(parent, name) : NULL;
    size_t seen = element != NULL ? ++counts_of(parser, parent)[element - parent->element->children] : 0;
    push_frame(parser, element, name, element != NULL ? element->name_length : strlen(name),
               element != NULL && element->repeated ? seen : 0);
    check_memory(parser);
    if (parser->failed)
        return;
    if (element != NULL && !element->repeated && seen > 1) {
        fail_here_with_path(parser, "appears more than once");
        return;
    }
    if (element != NULL && element->type == OSS_TYPE_CONTAINER) {
        oss_xml_event event = event_of(OSS_XML_ENTER, top(parser));
        /* Room for the children its schema lists: bounded by the schema, never by the document. */
        event.value.length = element->child_count;
        log_event(parser, &event, top(parser));
    }
    check_memory(parser);
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
    oss_xml_parser *parser = data;
    (void)name; /* Expat has already matched it with the start tag */
    if (parser->failed || refuse_long_markup(parser))
        return;
    frame *f = top(parser);
    if (f->is_container && parser->text.length > 0 && !check_layout_text(parser))
        return;
    if (parser->depth > 1) {
        if (f->is_container) {
            oss_xml_event event = event_of(OSS_XML_LEAVE, f);
            log_event(parser, &event, f);
        } else {
            log_leaf(parser, f);
        }
    }
    if (parser->failed) {
        stop(parser);
        return;
    }
    oss_buffer_reset(&parser->text);
    pop_frame(parser);
    check_memory(parser);
}

static void XMLCALL on_text(void *data, const XML_Char *text, int length)
{
    oss_xml_parser *parser = data;
    if (parser->failed || parser->depth == 0)
        return;
    const oss_element *element = top(parser)->element;
    /* Only text that may turn out to sit between tags can be refused, from where it starts. */
    if (parser->text.length == 0 && (element == NULL || element->type == OSS_TYPE_CONTAINER))
        mark_here(parser, &parser->text_start);
    oss_buffer_append(&parser->text, text, (size_t)length);
    check_memory(parser);
}

static void XMLCALL on_comment(void *data, const XML_Char *text)
{
    (void)text;
    refuse_long_markup(data);
}

static void XMLCALL on_processing_instruction(void *data, const XML_Char *target, const XML_Char *text)
{
    (void)target, (void)text;
    refuse_long_markup(data);
}

static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *system_id,
                               const XML_Char *public_id, int has_internal_subset)
{
    oss_xml_parser *parser = data;
    (void)name, (void)system_id, (void)public_id, (void)has_internal_subset;
    fail_here(parser, "DTD is not allowed");
    stop(parser);
}

static void XMLCALL on_entity_declaration(void *data, const XML_Char *name, int is_parameter_entity,
                                          const XML_Char *value, int value_length, const XML_Char *base,
                                          const XML_Char *system_id, const XML_Char *public_id,
                                          const XML_Char *notation)
{
    oss_xml_parser *parser = data;
    (void)name, (void)is_parameter_entity, (void)value, (void)value_length, (void)base;
    (void)system_id, (void)public_id, (void)notation;
    fail_here(parser, "entity declarations are not allowed");
    stop(parser);
}

/* ---- handing Expat the bytes ---- */

/* The bytes of an unfinished token that Expat keeps and will scan again with the next ones. */
static size_t held(const oss_xml_parser *parser)
{
    XML_Index at = XML_GetCurrentByteIndex(parser->expat);
    return at >= 0 && (size_t)at <= parser->handed ? parser->handed - (size_t)at : 0;
}

static void keep_expat_error(oss_xml_parser *parser)
{
    enum XML_Error code = XML_GetErrorCode(parser->expat);
    if (code == XML_ERROR_NO_ELEMENTS && parser->depth > 0) {
        /* Expat's "no element found" misleads when the body was cut short. */
        char path[256];
        format_path(parser, path, sizeof path);
        fail_here(parser, "the document ends inside %s", path);
    }
    /* Our own reason wins: Expat then only reports that it was stopped. */
    fail_here(parser, "%s", XML_ErrorString(code));
}

static int hand_to_expat(oss_xml_parser *parser, const char *bytes, size_t length, int final)
{
    do {
        size_t slice = length < SLICE ? length : SLICE;
        int last = final && slice == length;
        parser->scanned += held(parser) + slice;
        parser->handed += slice;
        if (XML_Parse(parser->expat, bytes, (int)slice, last) == XML_STATUS_ERROR) {
            keep_expat_error(parser);
            return 0;
        }
        if (!last && held(parser) > OSS_XML_LONGEST_MARKUP) {
            fail_here(parser, "markup longer than %d bytes", OSS_XML_LONGEST_MARKUP);
            return 0;
        }
        bytes += slice;
        length -= slice;
    } while (length > 0);
    return 1;
}

/* ---- the parser's life ---- */

void oss_xml_parser_init(oss_xml_parser *parser, size_t max_depth, size_t max_size)
{
    memset(parser, 0, sizeof *parser);
    oss_buffer_init(&parser->waiting);
    oss_buffer_init(&parser->frames);
    oss_buffer_init(&parser->counts);
    oss_buffer_init(&parser->names);
    oss_buffer_init(&parser->text);
    oss_buffer_init(&parser->events);
    parser->max_depth = max_depth;
    parser->max_size = max_size;
}

int oss_xml_parser_start(oss_xml_parser *parser, const oss_element *root)
{
    parser->root = root;
    parser->expat = XML_ParserCreate(NULL);
    if (parser->expat == NULL)
        return 0;
    XML_SetUserData(parser->expat, parser);
    XML_SetElementHandler(parser->expat, on_start, on_end);
    XML_SetCharacterDataHandler(parser->expat, on_text);
    XML_SetCommentHandler(parser->expat, on_comment);
    XML_SetProcessingInstructionHandler(parser->expat, on_processing_instruction);
    XML_SetStartDoctypeDeclHandler(parser->expat, on_doctype);
    XML_SetEntityDeclHandler(parser->expat, on_entity_declaration);
    XML_SetParamEntityParsing(parser->expat, XML_PARAM_ENTITY_PARSING_NEVER);
    return 1;
}

int oss_xml_parser_feed(oss_xml_parser *parser, const char *bytes, size_t length, int last)
{
    if (parser->expat == NULL || parser->failed)
        return 0;
    if (length > parser->max_size - parser->fed) {
        fail_here(parser, "document larger than %zu bytes", parser->max_size);
        return 0;
    }
    parser->fed += length;
    oss_buffer *waiting = &parser->waiting;
    /* Handed fewer bytes than it holds, Expat would rescan the held token for little progress: a long token fed
     * in small pieces would cost the square of its length. */
    if (!last && waiting->length + length < held(parser)) {
        oss_buffer_append(waiting, bytes, length);
        check_memory(parser);
        return !parser->failed;
    }
    if (waiting->length == 0) {
        if (last && parser->handed == 0 && length <= SLICE)
            parser->document = bytes;
        return hand_to_expat(parser, length > 0 ? bytes : "", length, last);
    }
    oss_buffer_append(waiting, bytes, length);
    check_memory(parser);
    int ok = !parser->failed && hand_to_expat(parser, waiting->data, waiting->length, last);
    oss_buffer_reset(waiting);
    return ok;
}

void oss_xml_parser_fail(oss_xml_parser *parser, const char *reason)
{
    fail_here(parser, "%s", reason);
}

void oss_xml_parser_release(oss_xml_parser *parser)
{
    if (parser->expat != NULL)
        XML_ParserFree(parser->expat);
    parser->expat = NULL;
    oss_buffer_free(&parser->waiting);
    oss_buffer_free(&parser->frames);
    oss_buffer_free(&parser->counts);
    oss_buffer_free(&parser->names);
    oss_buffer_free(&parser->text);
    oss_buffer_free(&parser->events);
    parser->root = NULL;
    parser->document = NULL;
}
