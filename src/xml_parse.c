/* Expat side of the XML reader: checks a document against its schema as bytes arrive and records it in C memory. */
#include "xml_parse.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define QUOTED_VALUE_BYTES 40
#define EXPAT_SLICE (1 << 30) /* XML_Parse takes an int length */

typedef struct {
    const oss_element *element; /* NULL for an element the schema does not know */
    size_t name_offset;         /* unknown elements: the name's copy in record->names */
    size_t name_length;
    size_t counts_offset;       /* in record->counts: a child_count per known child */
    size_t index;               /* 1-based among repeated siblings (for paths), 0 when not repeated */
    size_t next_child;          /* where the next child's lookup starts: documents follow the schema's order */
    size_t keys;                /* keys the element's table will hold, counted as children open */
    size_t event_offset;        /* its ENTER, or its open STRING event; NO_EVENT when none */
    oss_xml_mark start;         /* of its start tag */
    int is_container;           /* a known container, or an unknown element once a child appears */
    int direct_text;            /* a known string: its text goes straight into its open STRING event */
} frame;

/* Per known child of an open container: how often it has appeared, and for a repeated child, the event that
 * stores its first appearance, whose `size` gets the total when the container closes. */
typedef struct {
    size_t seen;
    size_t first_event;
} child_count;

#define NO_EVENT ((size_t)-1)

/* ---- errors: kept in the record, since nothing may raise while Expat runs ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void fail_at(oss_xml_record *record, unsigned long long line, unsigned long long column, const char *format, ...)
{
    if (record->failed)
        return;
    record->failed = 1;
    int used = snprintf(record->error, sizeof record->error, "line %llu, column %llu: ", line, column);
    if (used < 0 || (size_t)used >= sizeof record->error)
        return;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(record->error + used, sizeof record->error - (size_t)used, format, arguments);
    va_end(arguments);
}

static unsigned long long current_line(const oss_xml_record *record)
{
    return (unsigned long long)XML_GetCurrentLineNumber(record->parser);
}

/* Expat counts columns from 0; editors and our messages count from 1. */
static unsigned long long current_column(const oss_xml_record *record)
{
    return (unsigned long long)XML_GetCurrentColumnNumber(record->parser) + 1;
}

static void mark_here(const oss_xml_record *record, oss_xml_mark *mark)
{
    if (record->document != NULL) {
        mark->offset = (long long)XML_GetCurrentByteIndex(record->parser);
        return;
    }
    mark->offset = -1;
    mark->line = current_line(record);
    mark->column = current_column(record);
}

/* Counts lines and columns as Expat does for UTF-8: CR, LF and CR LF each end a line, and a character is one
 * column however many bytes it takes. Only an error pays for this. */
static void count_position(const char *bytes, size_t length, unsigned long long *line, unsigned long long *column)
{
    unsigned long long lines = 0, columns = 0;
    size_t i = 0;
    while (i < length) {
        unsigned char c = (unsigned char)bytes[i];
        if (c == '\n' || c == '\r') {
            lines++;
            columns = 0;
            i += c == '\r' && i + 1 < length && bytes[i + 1] == '\n' ? 2 : 1;
            continue;
        }
        columns++;
        i += c >= 0xF0 && c < 0xF8 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC0 && c < 0xE0 ? 2 : 1;
    }
    *line = lines + 1;
    *column = columns + 1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void fail_at_mark(oss_xml_record *record, const oss_xml_mark *mark, const char *format, ...)
{
    unsigned long long line = mark->line, column = mark->column;
    if (mark->offset >= 0) {
        size_t offset = (size_t)mark->offset;
        count_position(record->document, offset < record->document_length ? offset : record->document_length, &line,
                       &column);
    }
    char reason[sizeof record->error];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(reason, sizeof reason, format, arguments);
    va_end(arguments);
    fail_at(record, line, column, "%s", reason);
}

/* Ends the parse from inside a handler; Expat may still deliver an event or two, which the handlers ignore. */
static void stop(oss_xml_record *record)
{
    XML_StopParser(record->parser, XML_FALSE);
}

/* Asked after every event, so one test of all five flags rather than a branch each. */
static inline int out_of_memory(const oss_xml_record *record)
{
    return (record->frames.failed | record->counts.failed | record->names.failed | record->text.failed |
            record->events.failed) != 0;
}

/* ---- the open elements ---- */

static size_t depth(const oss_xml_record *record)
{
    return record->depth;
}

static frame *frame_at(const oss_xml_record *record, size_t level)
{
    return (frame *)(void *)record->frames.data + level;
}

static frame *top(const oss_xml_record *record)
{
    return frame_at(record, depth(record) - 1);
}

static child_count *counts_of(const oss_xml_record *record, const frame *f)
{
    return (child_count *)(void *)(record->counts.data + f->counts_offset);
}

static const char *name_of(const oss_xml_record *record, const frame *f)
{
    return f->element != NULL ? f->element->name : record->names.data + f->name_offset;
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
static void format_path(const oss_xml_record *record, char *out, size_t size)
{
    size_t used = 0, levels = depth(record);
    out[0] = '\0';
    if (levels == 1) {
        snprintf(out, size, "%s", record->root->name);
        return;
    }
    for (size_t level = 1; level < levels && used < size; level++) {
        const frame *f = frame_at(record, level);
        char name[QUOTED_VALUE_BYTES + 4];
        quote(name, sizeof name, name_of(record, f), f->name_length);
        int written = f->index > 0 ? snprintf(out + used, size - used, "%s%s[%zu]", level > 1 ? "." : "", name, f->index)
                                   : snprintf(out + used, size - used, "%s%s", level > 1 ? "." : "", name);
        if (written < 0)
            break;
        used += (size_t)written;
    }
}

/* oss_buffer_reserve, called only when the buffer is full: the common case is one comparison. */
static inline int has_room(oss_buffer *buffer, size_t size)
{
    return ((buffer->data != NULL && size <= buffer->capacity - buffer->length) || oss_buffer_reserve(buffer, size)) &&
           !buffer->failed;
}

/* Room for `size` more bytes in the event log, or NULL (the buffer then remembers that it failed). */
static char *reserve_event(oss_xml_record *record, size_t size)
{
    oss_buffer *events = &record->events;
    if (!has_room(events, size))
        return NULL;
    char *at = events->data + events->length;
    events->length += size;
    return at;
}

/* Logs one event with its name (unknown elements) and value bytes in one reservation; returns its offset. */
static size_t log_event(oss_xml_record *record, const oss_event *event, const char *name, const char *value)
{
    size_t offset = record->events.length;
    size_t value_length = event->kind == OSS_EVENT_STRING ? event->value.length : 0;
    char *at = reserve_event(record, sizeof *event + event->name_length + value_length);
    if (at == NULL)
        return NO_EVENT;
    memcpy(at, event, sizeof *event);
    at += sizeof *event;
    if (event->name_length > 0)
        memcpy(at, name, event->name_length);
    if (value_length > 0)
        memcpy(at + event->name_length, value, value_length);
    return offset;
}

/* Logs an event that no bytes follow: a known element's ENTER or LEAVE, or a known string's opening. */
static inline size_t log_bare(oss_xml_record *record, const oss_event *event)
{
    size_t offset = record->events.length;
    char *at = reserve_event(record, sizeof *event);
    if (at == NULL)
        return NO_EVENT;
    memcpy(at, event, sizeof *event);
    return offset;
}

/* Events are packed without padding, so a field is written back through memcpy, never a cast pointer. */
static void patch_length(oss_xml_record *record, size_t offset, size_t length)
{
    memcpy(record->events.data + offset + offsetof(oss_event, value.length), &length, sizeof length);
}

static void patch_size(oss_xml_record *record, size_t offset, size_t size)
{
    uint32_t saturated = size < UINT32_MAX ? (uint32_t)size : UINT32_MAX;
    memcpy(record->events.data + offset + offsetof(oss_event, size), &saturated, sizeof saturated);
}

/* The event for element `f` of `kind`, without its value. */
static inline oss_event event_of(unsigned char kind, const frame *f)
{
    oss_event event;
    memset(&event, 0, sizeof event);
    event.kind = kind;
    if (f->element == NULL) {
        event.flags = OSS_EVENT_UNKNOWN;
        event.name_length = (uint32_t)f->name_length;
    } else {
        event.element = (uint32_t)f->element->index;
        event.flags = f->element->repeated ? OSS_EVENT_REPEATED : 0;
        event.seen = f->index;
    }
    return event;
}

static void log_enter(oss_xml_record *record, frame *f)
{
    oss_event event = event_of(OSS_EVENT_ENTER, f);
    f->event_offset =
        f->element != NULL ? log_bare(record, &event) : log_event(record, &event, name_of(record, f), NULL);
}

/* A known string's event is opened with its start tag; its text is appended as Expat delivers it. */
static void open_string(oss_xml_record *record, frame *f)
{
    oss_event event = event_of(OSS_EVENT_STRING, f);
    f->event_offset = log_bare(record, &event);
    f->direct_text = f->event_offset != NO_EVENT;
}

static void push_frame(oss_xml_record *record, const oss_element *element, const char *name, size_t name_length,
                       size_t index)
{
    size_t counts_offset = record->counts.length, name_offset = record->names.length;
    int is_container = element != NULL && element->type == OSS_TYPE_CONTAINER;
    if (element == NULL)
        oss_buffer_append(&record->names, name, name_length);
    if (is_container && has_room(&record->counts, element->child_count * sizeof(child_count))) {
        memset(record->counts.data + record->counts.length, 0, element->child_count * sizeof(child_count));
        record->counts.length += element->child_count * sizeof(child_count);
    }
    if (!has_room(&record->frames, sizeof(frame)))
        return;
    frame *f = (frame *)(void *)(record->frames.data + record->frames.length);
    record->frames.length += sizeof(frame);
    record->depth++;
    f->element = element;
    f->name_offset = name_offset;
    f->name_length = name_length;
    f->counts_offset = counts_offset;
    f->index = index;
    f->next_child = 0;
    f->keys = 0;
    f->event_offset = NO_EVENT;
    f->is_container = is_container;
    f->direct_text = 0;
    /* Only a boolean's or an integer's value can be refused, and that error points at the start tag. */
    if (element != NULL && (element->type == OSS_TYPE_BOOLEAN || element->type == OSS_TYPE_INTEGER))
        mark_here(record, &f->start);
}

static void pop_frame(oss_xml_record *record)
{
    const frame *f = top(record);
    if (f->element == NULL)
        record->names.length = f->name_offset;
    record->counts.length = f->counts_offset;
    record->frames.length -= sizeof(frame);
    record->depth--;
}

/* The child of a known container called `name`: tried first where the last one was found, since documents
 * list children in the schema's order. Comparing the terminating NUL too makes a strlen unnecessary. */
static const oss_element *find_child(frame *parent, const char *name)
{
    const oss_element *children = parent->element->children;
    size_t count = parent->element->child_count;
    for (size_t tried = 0, i = parent->next_child; tried < count; tried++, i = i + 1 < count ? i + 1 : 0) {
        const oss_element *child = &children[i];
        if (child->name[0] == name[0] && strncmp(child->name, name, child->name_length + 1) == 0) {
            parent->next_child = i;
            return child;
        }
    }
    return NULL;
}

/* ---- leaf values ---- */

static int is_xml_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_blank(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (!is_xml_space(text[i]))
            return 0;
    return 1;
}

static void trim(const char **text, size_t *length)
{
    while (*length > 0 && is_xml_space(**text))
        (*text)++, (*length)--;
    while (*length > 0 && is_xml_space((*text)[*length - 1]))
        (*length)--;
}

static int parse_boolean(const char *text, size_t length, unsigned char *out)
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

/* Logs a leaf's value: a known string's event is already open and only needs its length. */
static void log_leaf(oss_xml_record *record, frame *f)
{
    if (f->direct_text) {
        if (!record->events.failed)
            patch_length(record, f->event_offset, record->events.length - f->event_offset - sizeof(oss_event));
        return;
    }
    const char *text = record->text.data ? record->text.data : "";
    size_t length = record->text.length;
    oss_type type = f->element ? f->element->type : OSS_TYPE_STRING;
    oss_event event;
    if (type == OSS_TYPE_BOOLEAN || type == OSS_TYPE_INTEGER) {
        long long value = 0;
        unsigned char flag = 0;
        int boolean = type == OSS_TYPE_BOOLEAN;
        int ok = boolean ? parse_boolean(text, length, &flag) : parse_integer(text, length, &value);
        if (!ok) {
            char path[256], quoted[QUOTED_VALUE_BYTES + 4];
            format_path(record, path, sizeof path);
            quote(quoted, sizeof quoted, text, length);
            fail_at_mark(record, &f->start, "%s: expected %s, got \"%s\"", path,
                         boolean ? "true or false" : "a 64-bit integer", quoted);
            return;
        }
        event = event_of(boolean ? OSS_EVENT_BOOLEAN : OSS_EVENT_INTEGER, f);
        event.value.number = boolean ? flag : value;
    } else {
        event = event_of(OSS_EVENT_STRING, f);
        event.value.length = length;
    }
    f->event_offset = log_event(record, &event, name_of(record, f), text);
}

/* A container closes: its LEAVE, and the sizes its ENTER and its repeated children's first events wait for. */
static void log_leave(oss_xml_record *record, frame *f)
{
    oss_event event = event_of(OSS_EVENT_LEAVE, f);
    event.name_length = 0; /* the key is already on finish's stack */
    size_t offset = log_bare(record, &event);
    if (offset == NO_EVENT || f->event_offset == NO_EVENT)
        return;
    patch_size(record, f->event_offset, f->keys);
    f->event_offset = offset;
    if (f->element == NULL)
        return;
    const child_count *counts = counts_of(record, f);
    for (size_t i = 0; i < f->element->child_count; i++)
        if (counts[i].seen > 0 && f->element->children[i].repeated)
            patch_size(record, counts[i].first_event, counts[i].seen);
}

/* ---- Expat handlers: C only, no Lua ---- */

static void fail_out_of_memory(oss_xml_record *record)
{
    if (!record->failed) {
        fail_at(record, current_line(record), current_column(record), "out of memory");
        stop(record);
    }
}

static inline void check_memory(oss_xml_record *record)
{
    if (out_of_memory(record))
        fail_out_of_memory(record);
}

static void fail_here_with_path(oss_xml_record *record, const char *reason)
{
    char path[256];
    format_path(record, path, sizeof path);
    fail_at(record, current_line(record), current_column(record), "%s: %s", path, reason);
    stop(record);
}

static void start_root(oss_xml_record *record, const char *name)
{
    if (strcmp(name, record->root->name) != 0) {
        char quoted[QUOTED_VALUE_BYTES + 4];
        quote(quoted, sizeof quoted, name, strlen(name));
        fail_at(record, current_line(record), current_column(record), "expected root element <%s>, got <%s>",
                record->root->name, quoted);
        stop(record);
        return;
    }
    push_frame(record, record->root, name, record->root->name_length, 0);
}

/* Text between a container's tags must be layout only. It is judged when the next tag arrives, from where it
 * starts, so the verdict does not depend on how the document was split into chunks. */
static int judge_layout_text(oss_xml_record *record)
{
    const char *text = record->text.data;
    size_t length = record->text.length;
    if (is_blank(text, length))
        return 1;
    char path[256], quoted[QUOTED_VALUE_BYTES + 4];
    format_path(record, path, sizeof path);
    trim(&text, &length);
    quote(quoted, sizeof quoted, text, length);
    fail_at_mark(record, &record->text_start, "%s: text \"%s\" where only elements are allowed", path, quoted);
    stop(record);
    return 0;
}

/* Most tags follow another tag directly: no text to judge. */
static inline int check_layout_text(oss_xml_record *record)
{
    return record->text.length == 0 || judge_layout_text(record);
}

static void forget_text(oss_xml_record *record)
{
    if (record->text.length > 0 || record->text.failed)
        oss_buffer_reset(&record->text);
    record->text_marked = 0;
}

static const char *type_name(oss_type type)
{
    return type == OSS_TYPE_BOOLEAN ? "boolean" : type == OSS_TYPE_INTEGER ? "integer" : "string";
}

/* The parent has a child element, so it is a container (an unknown element becomes one here). */
static int become_container(oss_xml_record *record, frame *parent, const char *child)
{
    if (parent->element != NULL && parent->element->type != OSS_TYPE_CONTAINER) {
        char reason[128], quoted[QUOTED_VALUE_BYTES + 4];
        quote(quoted, sizeof quoted, child, strlen(child));
        snprintf(reason, sizeof reason, "a %s value cannot contain the element <%s>", type_name(parent->element->type),
                 quoted);
        fail_here_with_path(record, reason);
        return 0;
    }
    if (!check_layout_text(record))
        return 0;
    if (!parent->is_container) {
        parent->is_container = 1;
        log_enter(record, parent);
    }
    forget_text(record);
    return 1;
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attributes)
{
    oss_xml_record *record = data;
    (void)attributes; /* the service's documents carry none */
    if (record->failed)
        return;
    if (depth(record) == 0) {
        start_root(record, name);
        check_memory(record);
        return;
    }
    if (depth(record) >= record->max_depth) {
        fail_at(record, current_line(record), current_column(record), "elements nested more than %zu deep",
                record->max_depth);
        stop(record);
        return;
    }
    frame *parent = top(record);
    if (!become_container(record, parent, name))
        return;
    const oss_element *element = parent->element ? find_child(parent, name) : NULL;
    size_t length = element != NULL ? element->name_length : strlen(name);
    size_t seen = 0;
    if (element != NULL)
        seen = ++counts_of(record, parent)[element - parent->element->children].seen;
    if (seen <= 1)
        parent->keys++;
    push_frame(record, element, name, length, element != NULL && element->repeated ? seen : 0);
    check_memory(record);
    if (record->failed)
        return;
    if (element != NULL && !element->repeated && seen > 1) {
        fail_here_with_path(record, "appears more than once");
        return;
    }
    if (element != NULL && element->type == OSS_TYPE_CONTAINER)
        log_enter(record, top(record));
    else if (element != NULL && element->type == OSS_TYPE_STRING)
        open_string(record, top(record));
    check_memory(record);
}

/* The first of repeated siblings is stored by the event logged as it closes; the parent's close sizes it. */
static void note_first_of_repeated(oss_xml_record *record, const frame *f)
{
    if (f->element == NULL || !f->element->repeated || f->index != 1 || f->event_offset == NO_EVENT)
        return;
    const frame *parent = frame_at(record, depth(record) - 2);
    counts_of(record, parent)[f->element - parent->element->children].first_event = f->event_offset;
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
    oss_xml_record *record = data;
    (void)name; /* Expat has already matched it with the start tag */
    if (record->failed)
        return;
    frame *f = top(record);
    if (f->is_container && !check_layout_text(record))
        return;
    if (depth(record) > 1) {
        if (f->is_container)
            log_leave(record, f);
        else
            log_leaf(record, f);
        note_first_of_repeated(record, f);
    }
    if (record->failed) {
        stop(record);
        return;
    }
    forget_text(record);
    pop_frame(record);
    check_memory(record);
}

static void XMLCALL on_text(void *data, const XML_Char *text, int length)
{
    oss_xml_record *record = data;
    if (record->failed || depth(record) == 0)
        return;
    if (top(record)->direct_text) {
        char *at = reserve_event(record, (size_t)length);
        if (at != NULL)
            memcpy(at, text, (size_t)length);
        check_memory(record);
        return;
    }
    if (!record->text_marked) {
        mark_here(record, &record->text_start);
        record->text_marked = 1;
    }
    oss_buffer_append(&record->text, text, (size_t)length);
    check_memory(record);
}

static int is_utf8_name(const char *name)
{
    static const char utf8[] = "utf-8";
    for (size_t i = 0; i < sizeof utf8; i++) {
        char c = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] - 'A' + 'a') : name[i];
        if (c != utf8[i])
            return 0;
    }
    return 1;
}

static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *system_id,
                               const XML_Char *public_id, int has_internal_subset)
{
    oss_xml_record *record = data;
    (void)name, (void)system_id, (void)public_id, (void)has_internal_subset;
    fail_at(record, current_line(record), current_column(record), "DTD is not allowed");
    stop(record);
}

static void XMLCALL on_entity_declaration(void *data, const XML_Char *name, int is_parameter_entity,
                                          const XML_Char *value, int value_length, const XML_Char *base,
                                          const XML_Char *system_id, const XML_Char *public_id,
                                          const XML_Char *notation)
{
    oss_xml_record *record = data;
    (void)name, (void)is_parameter_entity, (void)value, (void)value_length, (void)base;
    (void)system_id, (void)public_id, (void)notation;
    fail_at(record, current_line(record), current_column(record), "entity declarations are not allowed");
    stop(record);
}

/* Marks hold byte offsets only while the document is UTF-8, the one encoding count_position knows. A declaration
 * comes before any element, so no offset has been kept yet when it turns them off. */
static void XMLCALL on_xml_declaration(void *data, const XML_Char *version, const XML_Char *encoding, int standalone)
{
    oss_xml_record *record = data;
    (void)version, (void)standalone;
    if (encoding != NULL && !is_utf8_name(encoding))
        record->document = NULL;
}

/* ---- the record's life ---- */

void oss_xml_record_init(oss_xml_record *record, size_t max_depth, size_t max_size)
{
    memset(record, 0, sizeof *record);
    oss_buffer_init(&record->frames);
    oss_buffer_init(&record->counts);
    oss_buffer_init(&record->names);
    oss_buffer_init(&record->text);
    oss_buffer_init(&record->events);
    record->max_depth = max_depth;
    record->max_size = max_size;
}

int oss_xml_record_start(oss_xml_record *record, const oss_element *root)
{
    record->root = root;
    record->parser = XML_ParserCreate(NULL);
    if (record->parser == NULL)
        return 0;
    XML_SetUserData(record->parser, record);
    XML_SetElementHandler(record->parser, on_start, on_end);
    XML_SetCharacterDataHandler(record->parser, on_text);
    XML_SetStartDoctypeDeclHandler(record->parser, on_doctype);
    XML_SetEntityDeclHandler(record->parser, on_entity_declaration);
    XML_SetXmlDeclHandler(record->parser, on_xml_declaration);
    XML_SetParamEntityParsing(record->parser, XML_PARAM_ENTITY_PARSING_NEVER);
    return 1;
}

static void keep_expat_error(oss_xml_record *record)
{
    /* Our own reason wins: Expat then only reports that it was stopped. */
    fail_at(record, current_line(record), current_column(record), "%s",
            XML_ErrorString(XML_GetErrorCode(record->parser)));
}


int oss_xml_record_feed(oss_xml_record *record, const char *bytes, size_t length)
{
    if (record->parser == NULL || record->failed)
        return 0;
    if (length > record->max_size - record->fed) {
        fail_at(record, current_line(record), current_column(record), "document larger than %zu bytes",
                record->max_size);
        return 0;
    }
    record->fed += length;
    while (length > 0) {
        int slice = length > EXPAT_SLICE ? EXPAT_SLICE : (int)length;
        if (XML_Parse(record->parser, bytes, slice, XML_FALSE) == XML_STATUS_ERROR) {
            keep_expat_error(record);
            return 0;
        }
        bytes += slice;
        length -= (size_t)slice;
    }
    return 1;
}

/* Hands Expat the document's last bytes and turns its verdict into our message. */
static int end_document(oss_xml_record *record, const char *bytes, size_t length)
{
    record->ended = 1;
    if (!record->failed && XML_Parse(record->parser, bytes, (int)length, XML_TRUE) == XML_STATUS_ERROR) {
        if (XML_GetErrorCode(record->parser) == XML_ERROR_NO_ELEMENTS && depth(record) > 0) {
            /* Expat's "no element found" misleads when the body was cut short. */
            char path[256];
            format_path(record, path, sizeof path);
            fail_at(record, current_line(record), current_column(record), "the document ends inside %s", path);
        }
        keep_expat_error(record);
    }
    return !record->failed;
}

int oss_xml_record_end(oss_xml_record *record)
{
    return record->ended ? !record->failed : end_document(record, "", 0);
}

/* A final parse of the whole: Expat then counts no lines unless asked, and the handlers ask only on error. */
int oss_xml_record_read_whole(oss_xml_record *record, const char *bytes, size_t length)
{
    if (record->parser == NULL || record->failed || record->fed > 0 || length > EXPAT_SLICE)
        return oss_xml_record_feed(record, bytes, length) && oss_xml_record_end(record);
    if (length > record->max_size) {
        fail_at(record, current_line(record), current_column(record), "document larger than %zu bytes",
                record->max_size);
        return 0;
    }
    record->fed = length;
    /* The log of a service document is a little longer than the document: one allocation instead of a dozen
     * reallocations. Only a hint, so a refusal is forgotten and the log grows as it goes. */
    if (length > (size_t)-1 / 2 || !oss_buffer_reserve(&record->events, 2 * length))
        record->events.failed = 0;
    /* A leading zero byte or a byte-order mark other than UTF-8's means UTF-16: positions are then Expat's. */
    int utf16 = length >= 2 && (bytes[0] == '\0' || bytes[1] == '\0' || (unsigned char)bytes[0] >= 0xFE);
    record->document = utf16 ? NULL : bytes;
    record->document_length = length;
    return end_document(record, bytes, length);
}

void oss_xml_record_fail(oss_xml_record *record, const char *reason)
{
    fail_at(record, current_line(record), current_column(record), "%s", reason);
}

void oss_xml_record_release(oss_xml_record *record)
{
    if (record->parser != NULL)
        XML_ParserFree(record->parser);
    record->parser = NULL;
    oss_buffer_free(&record->frames);
    oss_buffer_free(&record->counts);
    oss_buffer_free(&record->names);
    oss_buffer_free(&record->text);
    oss_buffer_free(&record->events);
    record->root = NULL;
    record->document = NULL;
}
