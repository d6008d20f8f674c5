// libpq, PostgreSQL's own client library (Debian's libpq-dev).
#include <postgresql/libpq-fe.h>
