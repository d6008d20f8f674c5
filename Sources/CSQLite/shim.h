#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import: bound text is copied by SQLite.
static inline void latentlab_sqlite3_bind_text_copy(sqlite3_stmt *s, int i, const char *text) {
  sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT);
}
