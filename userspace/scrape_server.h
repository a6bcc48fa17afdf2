/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small HTTP/1.1 server for Prometheus scrapes: GET or HEAD of one page,
 * one request per connection, many connections at once, never blocking on a
 * client. Every connection has an overall deadline; a client that sends its
 * request slowly or never reads its answer is dropped when it passes.
 */
#ifndef IOMMUFD_BPF_SCRAPE_SERVER_H
#define IOMMUFD_BPF_SCRAPE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Build the page: a malloc()ed body of *len bytes in *body, and its
 * Content-Type in *type; in OpenMetrics if @openmetrics (the client's
 * Accept asked for it), else Prometheus text. Returns 0 or -errno
 * (answered as 500).
 */
typedef int (*scrape_page_fn)(void *ctx, bool openmetrics, char **body,
			      size_t *len, const char **type);

struct scrape_server_stats {
	uint64_t served;	/* answers sent in full */
	uint64_t timed_out;	/* connections dropped at their deadline */
	uint64_t refused;	/* connections over the limit, closed at once */
	uint64_t failed;	/* connections that broke (reset, bad request) */
};

struct scrape_server;

/*
 * Serve @path on the listening socket @lfd (made non-blocking here), at
 * most @max_clients connections at once, each closed @deadline_ms after it
 * was accepted. NULL with errno on failure.
 */
struct scrape_server *scrape_server_new(int lfd, const char *path,
					unsigned int max_clients,
					unsigned int deadline_ms,
					scrape_page_fn page, void *ctx);

/*
 * Wait up to @timeout_ms for connections and client data, and handle what
 * came. Returns early (0) when a signal arrives, so the caller can look at
 * its flags. Returns 0 or -errno of a failure of the server itself.
 */
int scrape_server_poll(struct scrape_server *s, int timeout_ms);

/* Connections open now */
unsigned int scrape_server_clients(const struct scrape_server *s);

const struct scrape_server_stats *
scrape_server_stats(const struct scrape_server *s);

/* Close every connection and free; the listening socket stays the caller's */
void scrape_server_free(struct scrape_server *s);

#endif
