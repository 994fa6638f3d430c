/*
 * chdb-server: runs the ClickHouse engine of libchdb.so as a server process.
 *
 *   chdb-server /path/to/libchdb.so [clickhouse-local arguments...]
 *
 * libchdb.so (npm package @chdb/lib-linux-x64-gnu) embeds clickhouse-local. Its exported
 *   chdb_result *chdb_query_cmdline(int argc, char **argv)
 * takes clickhouse-local's command line. deploy/local/stack.sh passes --path, --listen_host,
 * --http_port, --tcp_port and a query that starts the HTTP and native listeners and then blocks,
 * so the engine serves clients until this process is signalled. The library is loaded with
 * dlopen so that the launcher builds without chdb headers and fails with a clear message when the
 * library or the symbol is missing.
 *
 * With a query that returns, it is a one-shot clickhouse-local: the result goes to stdout.
 *
 * Exit status: 2 for a usage or loading error, 1 when the library hands back an error result,
 * else 0. clickhouse-local prints most query errors (a port in use, a refused connection) to
 * stderr itself and still hands back a result without error, so callers check the output or,
 * for the server, that the process is alive and answering.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct chdb_result chdb_result;
typedef chdb_result *(*query_cmdline_fn)(int argc, char **argv);
typedef const char *(*result_error_fn)(chdb_result *result);
typedef void (*destroy_result_fn)(chdb_result *result);
typedef char *(*result_buffer_fn)(chdb_result *result);
typedef size_t (*result_length_fn)(chdb_result *result);

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/libchdb.so [clickhouse-local arguments...]\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "chdb-server: cannot load %s: %s\n", argv[1], dlerror());
        return 2;
    }
    query_cmdline_fn query_cmdline = (query_cmdline_fn) dlsym(lib, "chdb_query_cmdline");
    result_error_fn result_error = (result_error_fn) dlsym(lib, "chdb_result_error");
    result_buffer_fn result_buffer = (result_buffer_fn) dlsym(lib, "chdb_result_buffer");
    result_length_fn result_length = (result_length_fn) dlsym(lib, "chdb_result_length");
    destroy_result_fn destroy_result = (destroy_result_fn) dlsym(lib, "chdb_destroy_query_result");
    if (query_cmdline == NULL || result_error == NULL || result_buffer == NULL || result_length == NULL) {
        fprintf(stderr, "chdb-server: %s lacks the chdb_query_cmdline/chdb_result_* symbols: %s\n", argv[1], dlerror());
        return 2;
    }

    /* clickhouse-local's argv: argv[0] is the program name, then the caller's arguments. */
    argv[1] = "clickhouse";
    chdb_result *result = query_cmdline(argc - 1, argv + 1);
    if (result == NULL) {
        fprintf(stderr, "chdb-server: chdb_query_cmdline returned no result\n");
        return 1;
    }
    const char *error = result_error(result);
    int status = 0;
    if (error != NULL && error[0] != '\0') {
        fprintf(stderr, "chdb-server: %s\n", error);
        status = 1;
    } else if (result_length(result) > 0) {
        /* A one-shot query (the stack's checks use one as a native-protocol client) prints its result. */
        fwrite(result_buffer(result), 1, result_length(result), stdout);
    }
    if (destroy_result != NULL) {
        destroy_result(result);
    }
    return status;
}
