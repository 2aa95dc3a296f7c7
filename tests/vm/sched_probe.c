/* sched_probe: the connection maker and the backends of the scheduler test (tests/vm/sched.sh).
 *
 * Built on the host by `cargo xtask vm test-sched` with `gcc -static -O2`; runs in the VM as root.
 * busybox cannot bind a source port, so this small program opens TCP connections from a chosen
 * (network namespace, source address, source port) in a fixed order, and serves the backends.
 *
 *   sched_probe serve NSDIR NS:ADDR:PORT ...
 *     Listens on ADDR:PORT inside each network namespace NSDIR/NS (one process for all of them).
 *     Every accepted connection is greeted with "ADDR:PORT\n" (which backend took it) and held
 *     until the peer closes it; then it is closed.
 *
 *   sched_probe client NSDIR SYNCDIR < PLAN > TRACE
 *     PLAN lines, in order:
 *       conn ID NS SRC SPORT VIP VPORT hold|close
 *         connect from SRC:SPORT inside NSDIR/NS; read the greeting; "close": shut down the
 *         sending side, wait for the backend's close, close (both sides' FINs seen by IPVS);
 *         "hold": keep it open until "release".
 *       sync NAME
 *         create SYNCDIR/NAME.ready, then wait (at most 600 s) for SYNCDIR/NAME.go.
 *       release
 *         close every held connection as "close" does.
 *     TRACE lines:
 *       conn ID SRC SPORT hold|close RESULT T_CONNECT_MS T_CLOSED_MS
 *         RESULT: the greeting (the backend's ADDR:PORT), "refused" (ECONNREFUSED: IPVS found
 *         no destination and answered with ICMP port unreachable), "timeout" or "error-ERRNO".
 *         Times are CLOCK_BOOTTIME milliseconds (/proc/uptime's clock) when connect() finished
 *         and when the close handshake finished (0 for held connections).
 *       sync NAME T_MS
 *       released ID T_MS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 8192
#define CONNECT_TIMEOUT_MS 3000
#define IO_TIMEOUT_MS 3000

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what) {
	perror(what);
	exit(2);
}

static void enter_ns(const char *dir, const char *ns) {
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	if (setns(fd, CLONE_NEWNET) < 0)
		die("setns");
	close(fd);
}

static void raise_fd_limit(void) {
	struct rlimit r = {MAX_FDS, MAX_FDS};
	setrlimit(RLIMIT_NOFILE, &r);
}

static struct sockaddr_in addr_of(const char *ip, int port) {
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "bad address %s\n", ip);
		exit(2);
	}
	return a;
}

/* Waits for fd to be ready for `events`, at most ms; returns poll's revents or 0. */
static int wait_fd(int fd, short events, int ms) {
	struct pollfd p = {fd, events, 0};
	int n;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n > 0 ? p.revents : 0;
}

/* ---- server ---- */

static int serve(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: sched_probe serve NSDIR NS:ADDR:PORT ...\n");
		return 2;
	}
	raise_fd_limit();
	const char *nsdir = argv[2];
	static struct pollfd fds[MAX_FDS];
	static char greeting[MAX_FDS][32]; /* per listener */
	int listeners = 0;
	for (int i = 3; i < argc; i++) {
		char spec[128];
		snprintf(spec, sizeof spec, "%s", argv[i]);
		char *ns = strtok(spec, ":"), *ip = strtok(NULL, ":"), *port = strtok(NULL, ":");
		if (!ns || !ip || !port) {
			fprintf(stderr, "bad spec %s\n", argv[i]);
			return 2;
		}
		enter_ns(nsdir, ns);
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = addr_of(ip, atoi(port));
		if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
			die("bind");
		if (listen(s, 1024) < 0)
			die("listen");
		fds[listeners].fd = s;
		fds[listeners].events = POLLIN;
		snprintf(greeting[listeners], sizeof greeting[0], "%s:%s\n", ip, port);
		listeners++;
	}
	int n = listeners;
	fprintf(stderr, "sched_probe: serving %d backends\n", listeners);
	for (;;) {
		int r = poll(fds, (nfds_t)n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int i = 0; i < n; i++) {
			if (!fds[i].revents)
				continue;
			if (i < listeners) {
				int c = accept4(fds[i].fd, NULL, NULL, SOCK_CLOEXEC);
				if (c < 0)
					continue;
				if (n >= MAX_FDS) {
					close(c);
					continue;
				}
				ssize_t w = write(c, greeting[i], strlen(greeting[i]));
				(void)w;
				fds[n].fd = c;
				fds[n].events = POLLIN;
				fds[n].revents = 0;
				n++;
			} else {
				char buf[256];
				ssize_t got = read(fds[i].fd, buf, sizeof buf);
				if (got <= 0) { /* the peer closed: close ours, drop the slot */
					close(fds[i].fd);
					fds[i] = fds[n - 1];
					n--;
					i--;
				}
			}
		}
	}
}

/* ---- client ---- */

struct held {
	int fd;
	char id[32];
};

static struct held held[MAX_FDS];
static int nheld;

/* Shuts our side, waits for the backend to close, closes. */
static void close_gracefully(int fd) {
	shutdown(fd, SHUT_WR);
	char buf[256];
	for (;;) {
		if (!(wait_fd(fd, POLLIN, IO_TIMEOUT_MS) & (POLLIN | POLLHUP | POLLERR)))
			break;
		ssize_t got = read(fd, buf, sizeof buf);
		if (got <= 0)
			break;
	}
	close(fd);
}

/* One connection; returns the fd (or -1) and writes the result word. A source address and
 * port whose earlier connection this side closed is in TIME_WAIT here: with tcp_tw_reuse=1 the
 * kernel lets connect() take it over once a second has passed since (EADDRNOTAVAIL before):
 * retried, at most 5 s. What IPVS does with its own TIME_WAIT entry for the pair is what the
 * test looks at. */
static int connect_one(const char *src, int sport, const char *vip, int vport, char *result,
		       size_t len) {
	struct sockaddr_in from = addr_of(src, sport), to = addr_of(vip, vport);
	int s = -1, err = 0;
	for (int attempt = 0; attempt < 50; attempt++) {
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s < 0)
			die("socket");
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(s, (struct sockaddr *)&from, sizeof from) < 0) {
			snprintf(result, len, "error-bind-%d", errno);
			close(s);
			return -1;
		}
		err = 0;
		if (connect(s, (struct sockaddr *)&to, sizeof to) < 0) {
			if (errno != EINPROGRESS) {
				err = errno;
			} else if (!wait_fd(s, POLLOUT, CONNECT_TIMEOUT_MS)) {
				snprintf(result, len, "timeout");
				close(s);
				return -1;
			} else {
				socklen_t l = sizeof err;
				getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l);
			}
		}
		if (err != EADDRNOTAVAIL)
			break;
		close(s);
		s = -1;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (s < 0) {
		snprintf(result, len, "error-%d", err);
		return -1;
	}
	if (err == ECONNREFUSED) {
		snprintf(result, len, "refused");
		close(s);
		return -1;
	}
	if (err) {
		snprintf(result, len, "error-%d", err);
		close(s);
		return -1;
	}
	/* The greeting: which backend accepted. */
	char line[64];
	size_t got = 0;
	while (got < sizeof line - 1) {
		if (!(wait_fd(s, POLLIN, IO_TIMEOUT_MS) & (POLLIN | POLLHUP | POLLERR)))
			break;
		ssize_t r = read(s, line + got, 1);
		if (r <= 0 || line[got] == '\n')
			break;
		got++;
	}
	line[got] = 0;
	snprintf(result, len, "%s", got ? line : "no-greeting");
	return s;
}

static int client(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: sched_probe client NSDIR SYNCDIR < PLAN\n");
		return 2;
	}
	raise_fd_limit();
	const char *nsdir = argv[2], *syncdir = argv[3];
	char line[512];
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof line, stdin)) {
		char id[32], ns[64], src[64], vip[64], mode[16], name[128];
		int sport, vport;
		if (sscanf(line, "conn %31s %63s %63s %d %63s %d %15s", id, ns, src, &sport, vip,
			   &vport, mode) == 7) {
			enter_ns(nsdir, ns);
			char result[80];
			int fd = connect_one(src, sport, vip, vport, result, sizeof result);
			long long t_conn = now_ms(), t_closed = 0;
			if (fd >= 0 && strcmp(mode, "close") == 0) {
				close_gracefully(fd);
				t_closed = now_ms();
			} else if (fd >= 0) {
				if (nheld >= MAX_FDS)
					die("too many held connections");
				held[nheld].fd = fd;
				snprintf(held[nheld].id, sizeof held[0].id, "%s", id);
				nheld++;
			}
			printf("conn %s %s %d %s %s %lld %lld\n", id, src, sport, mode, result, t_conn,
			       t_closed);
		} else if (sscanf(line, "sync %127s", name) == 1) {
			char path[768];
			printf("sync %s %lld\n", name, now_ms());
			snprintf(path, sizeof path, "%s/%s.ready", syncdir, name);
			int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
			if (fd < 0)
				die(path);
			close(fd);
			snprintf(path, sizeof path, "%s/%s.go", syncdir, name);
			struct stat st;
			int waited = 0;
			while (stat(path, &st) != 0) {
				if (waited++ > 60000) {
					fprintf(stderr, "sched_probe: no %s\n", path);
					return 1;
				}
				struct timespec ts = {0, 10 * 1000 * 1000};
				nanosleep(&ts, NULL);
			}
		} else if (strncmp(line, "release", 7) == 0) {
			for (int i = 0; i < nheld; i++) {
				close_gracefully(held[i].fd);
				printf("released %s %lld\n", held[i].id, now_ms());
			}
			nheld = 0;
		} else if (line[0] != '\n' && line[0] != '#') {
			fprintf(stderr, "sched_probe: bad plan line: %s", line);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "client") == 0)
		return client(argc, argv);
	fprintf(stderr, "usage: sched_probe serve|client ...\n");
	return 2;
}
