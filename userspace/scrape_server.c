// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The scrape server of 'iommufd-bpf metrics': one poll() loop over the
 * listening socket and every open connection, all non-blocking, so no
 * client can hold the exporter (its textfile, -d, or SIGTERM) for longer
 * than one poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common.h"
#include "scrape_server.h"

#define REQUEST_MAX 8192

enum client_state { CLIENT_FREE, CLIENT_READING, CLIENT_WRITING };

struct client {
	enum client_state state;
	int fd;
	uint64_t deadline_ns;
	size_t got;		/* request bytes in req */
	char req[REQUEST_MAX];
	char *out;		/* the answer, head and body */
	size_t out_len, sent;
};

struct scrape_server {
	int lfd;
	const char *path;
	unsigned int max_clients, nr_clients;
	uint64_t deadline_ns;
	scrape_page_fn page;
	void *ctx;
	struct client *clients;
	struct pollfd *fds;	/* [0]: the listener, then one per client */
	struct scrape_server_stats stats;
};

struct scrape_server *scrape_server_new(int lfd, const char *path,
					unsigned int max_clients,
					unsigned int deadline_ms,
					scrape_page_fn page, void *ctx)
{
	struct scrape_server *s;
	int fl = fcntl(lfd, F_GETFL);

	if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->clients = calloc(max_clients, sizeof(*s->clients));
	s->fds = calloc(max_clients + 1, sizeof(*s->fds));
	if (!s->clients || !s->fds) {
		scrape_server_free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->lfd = lfd;
	s->path = path;
	s->max_clients = max_clients;
	s->deadline_ns = deadline_ms * 1000000ull;
	s->page = page;
	s->ctx = ctx;
	return s;
}

static void client_close(struct scrape_server *s, struct client *c)
{
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->state = CLIENT_FREE;
	s->nr_clients--;
}

/* Queue an answer; HEAD gets the head alone */
static void client_answer(struct client *c, bool head_only,
			  const char *status, const char *type,
			  const char *body, size_t len)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		     status, type, len);
	c->out_len = n + (head_only ? 0 : len);
	c->out = malloc(c->out_len);
	if (!c->out) {
		c->out_len = 0;
	} else {
		memcpy(c->out, head, n);
		if (!head_only)
			memcpy(c->out + n, body, len);
	}
	c->sent = 0;
	c->state = CLIENT_WRITING;
}

static void text_answer(struct client *c, bool head_only, const char *status,
			const char *text)
{
	client_answer(c, head_only, status, "text/plain; charset=utf-8", text,
		      strlen(text));
}

/* The request head is complete (or never will be): decide the answer */
static void client_request(struct scrape_server *s, struct client *c,
			   bool complete)
{
	char method[16], path[1024];
	bool head_only = !strncmp(c->req, "HEAD ", 5);

	if (!complete) {
		text_answer(c, false, "431 Request Header Fields Too Large",
			    "request head over 8 KiB\n");
		return;
	}
	if (sscanf(c->req, "%15s %1023s", method, path) != 2) {
		text_answer(c, false, "400 Bad Request", "bad request\n");
	} else if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		text_answer(c, false, "405 Method Not Allowed", "only GET and HEAD\n");
	} else if (!strcmp(path, "/")) {
		text_answer(c, head_only, "200 OK", "iommufd-bpf metrics: see /metrics\n");
	} else if (strcmp(path, s->path)) {
		text_answer(c, head_only, "404 Not Found", "not found\n");
	} else {
		bool om = strstr(c->req, "application/openmetrics-text") != NULL;
		const char *type = NULL;
		char *body = NULL;
		size_t len = 0;

		if (s->page(s->ctx, om, &body, &len, &type))
			text_answer(c, head_only, "500 Internal Server Error",
				    "cannot read the statistics\n");
		else
			client_answer(c, head_only, "200 OK", type, body, len);
		free(body);
	}
}

static void client_read(struct scrape_server *s, struct client *c)
{
	ssize_t n = recv(c->fd, c->req + c->got, sizeof(c->req) - 1 - c->got,
			 MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {		/* closed or reset before asking */
		s->stats.failed++;
		client_close(s, c);
		return;
	}
	c->got += n;
	c->req[c->got] = 0;
	if (strstr(c->req, "\r\n\r\n"))
		client_request(s, c, true);
	else if (c->got == sizeof(c->req) - 1)
		client_request(s, c, false);
}

static void client_write(struct scrape_server *s, struct client *c)
{
	ssize_t n;

	if (c->sent < c->out_len) {
		n = send(c->fd, c->out + c->sent, c->out_len - c->sent,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			s->stats.failed++;
			client_close(s, c);
			return;
		}
		c->sent += n;
	}
	if (c->sent == c->out_len) {
		/* An answer that could not even be allocated counts as failed */
		if (c->out)
			s->stats.served++;
		else
			s->stats.failed++;
		client_close(s, c);
	}
}

/* Past its deadline: a client still asking is told so, once, if it listens */
static void client_expire(struct scrape_server *s, struct client *c)
{
	static const char timeout[] =
		"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

	static const struct linger reset = { .l_onoff = 1, .l_linger = 0 };

	if (c->state == CLIENT_READING)
		(void)!send(c->fd, timeout, sizeof(timeout) - 1,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
	/*
	 * A client too slow to take its page is reset: a plain close would
	 * leave the kernel sending it the megabytes still queued, for as long
	 * as the client cares to read slowly
	 */
	else if (c->state == CLIENT_WRITING)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
	s->stats.timed_out++;
	client_close(s, c);
}

static void accept_all(struct scrape_server *s, uint64_t now)
{
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		unsigned int i;

		if (fd < 0)
			return;	/* EAGAIN, or a client gone before we looked */
		for (i = 0; i < s->max_clients; i++)
			if (s->clients[i].state == CLIENT_FREE)
				break;
		if (i == s->max_clients) {
			s->stats.refused++;
			close(fd);
			continue;
		}
		s->clients[i] = (struct client){
			.state = CLIENT_READING,
			.fd = fd,
			.deadline_ns = now + s->deadline_ns,
		};
		s->nr_clients++;
	}
}

int scrape_server_poll(struct scrape_server *s, int timeout_ms)
{
	uint64_t now = monotonic_ns();
	unsigned int i, nfds = 1;
	struct client *map[s->max_clients];
	int n;

	s->fds[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (i = 0; i < s->max_clients; i++) {
		struct client *c = &s->clients[i];
		uint64_t left;

		if (c->state == CLIENT_FREE)
			continue;
		left = c->deadline_ns > now ? c->deadline_ns - now : 0;
		if ((int64_t)(left / 1000000) < timeout_ms)
			timeout_ms = left / 1000000 + 1;
		s->fds[nfds] = (struct pollfd){
			.fd = c->fd,
			.events = c->state == CLIENT_READING ? POLLIN : POLLOUT,
		};
		map[nfds - 1] = c;
		nfds++;
	}
	n = poll(s->fds, nfds, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;

	now = monotonic_ns();
	for (i = 1; i < nfds; i++) {
		struct client *c = map[i - 1];

		if (s->fds[i].revents & (POLLERR | POLLNVAL)) {
			s->stats.failed++;
			client_close(s, c);
		} else if (s->fds[i].revents && c->state == CLIENT_READING) {
			client_read(s, c);
		}
		/* An answer just made is sent at once: most fit the socket */
		if (c->state == CLIENT_WRITING)
			client_write(s, c);
		if (c->state != CLIENT_FREE && now >= c->deadline_ns)
			client_expire(s, c);
	}
	if (s->fds[0].revents & POLLIN)
		accept_all(s, now);
	return 0;
}

unsigned int scrape_server_clients(const struct scrape_server *s)
{
	return s->nr_clients;
}

const struct scrape_server_stats *
scrape_server_stats(const struct scrape_server *s)
{
	return &s->stats;
}

void scrape_server_free(struct scrape_server *s)
{
	unsigned int i;

	if (!s)
		return;
	for (i = 0; s->clients && i < s->max_clients; i++)
		if (s->clients[i].state != CLIENT_FREE)
			client_close(s, &s->clients[i]);
	free(s->clients);
	free(s->fds);
	free(s);
}
