// SPDX-License-Identifier: Apache-2.0
/*
 * Measures how long a change takes to reach the kernel of every node of the
 * end-to-end cluster (tests/vm/cluster/cluster.sh):
 *
 *   ipvs_watch [-t TIMEOUT_MS] [-i INTERVAL_MS] tcp|udp VIP:PORT DEST[:PORT] COND NETNS...
 *              [-- CMD ARGS...]
 *
 * COND is what node's IPVS service VIP:PORT must show for DEST (any port when
 * none is given): up (present, weight > 0), zero (present with weight 0), gone
 * (absent), out (absent or weight 0: receives no new connections). NETNS are
 * paths like /run/netns/l4lb42-n1. The clock starts just before CMD (the
 * trigger, e.g. an event posted to the fake master) is started; then every
 * namespace's IPVS is read over generic netlink every INTERVAL_MS (default
 * 20). Prints "start <ms>" (CLOCK_MONOTONIC at the start, the clock of the
 * daemons' "mono_us=" log fields), "trigger <ms>" (when CMD exited), then
 * "<name> <ms>" per namespace (name: the path after its last '-') or
 * "<name> timeout".
 * Exit status 0 when every namespace met COND, 1 on timeout, 2 on errors.
 *
 * One sampling process instead of `ipvsadm -Ln` per node and poll: a process
 * start costs tens of milliseconds in the emulated VM, more than the
 * resolution we want. The netlink sockets are opened inside each namespace
 * before the clock starts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_NS 16

enum cond { COND_UP, COND_ZERO, COND_GONE, COND_OUT };

struct svc {
	uint16_t proto, port, dport;
	struct in_addr vip, dest;
};

struct node {
	const char *name;
	int fd;
	long ms; /* -1 until the condition held */
};

static uint16_t family_id;
static uint32_t seq;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Appends attribute TYPE with LEN bytes of DATA at buf+*off; 0 or -ENOSPC. */
static int put_attr(char *buf, size_t size, size_t *off, uint16_t type, const void *data,
		    size_t len)
{
	struct nlattr *a = (struct nlattr *)(buf + *off);

	if (*off + NLA_HDRLEN + NLA_ALIGN(len) > size)
		return -ENOSPC;
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	*off += NLA_HDRLEN + NLA_ALIGN(len);
	return 0;
}

/* Sends one genl request on fd; the header is filled in here. */
static int send_req(int fd, char *buf, size_t len, uint16_t type, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = (struct genlmsghdr *)NLMSG_DATA(h);
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };

	h->nlmsg_len = len;
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++seq;
	h->nlmsg_pid = 0;
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : IPVS_GENL_VERSION;
	g->reserved = 0;
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&k, sizeof(k)) < 0)
		return -errno;
	return 0;
}

/* Walks the attributes of [p, p+len) into tb[0..max]. */
static void parse_attrs(const char *p, int len, const struct nlattr **tb, int max)
{
	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		int t = a->nla_type & NLA_TYPE_MASK;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return;
		if (t <= max)
			tb[t] = a;
		len -= NLA_ALIGN(a->nla_len);
		p += NLA_ALIGN(a->nla_len);
	}
}

#define ATTR_DATA(a) ((const char *)(a) + NLA_HDRLEN)
#define ATTR_LEN(a) ((int)(a)->nla_len - NLA_HDRLEN)

/* Handles the messages of one reply datagram. Returns 1 at the end of the
 * reply, 0 to read on, -errno on error. found/weight: the matching dest. */
static int read_reply(const char *buf, int n, const struct svc *s, int *found,
		      uint32_t *weight)
{
	for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n);
	     h = NLMSG_NEXT(h, n)) {
		const struct nlattr *tb[IPVS_CMD_ATTR_MAX + 1], *d[IPVS_DEST_ATTR_MAX + 1];

		if (h->nlmsg_seq != seq)
			continue;
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			/* no such service: no dests */
			return e->error == 0 || e->error == -ESRCH || e->error == -ENOENT ?
				       1 : e->error;
		}
		parse_attrs((const char *)NLMSG_DATA(h) + GENL_HDRLEN,
			    h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, tb, IPVS_CMD_ATTR_MAX);
		if (!tb[IPVS_CMD_ATTR_DEST])
			continue;
		parse_attrs(ATTR_DATA(tb[IPVS_CMD_ATTR_DEST]), ATTR_LEN(tb[IPVS_CMD_ATTR_DEST]), d,
			    IPVS_DEST_ATTR_MAX);
		if (!d[IPVS_DEST_ATTR_ADDR] || ATTR_LEN(d[IPVS_DEST_ATTR_ADDR]) < 4 ||
		    !d[IPVS_DEST_ATTR_PORT] || !d[IPVS_DEST_ATTR_WEIGHT])
			continue;
		if (memcmp(ATTR_DATA(d[IPVS_DEST_ATTR_ADDR]), &s->dest, 4) != 0)
			continue;
		if (s->dport && memcmp(ATTR_DATA(d[IPVS_DEST_ATTR_PORT]), &s->dport, 2) != 0)
			continue;
		*found = 1;
		memcpy(weight, ATTR_DATA(d[IPVS_DEST_ATTR_WEIGHT]), 4);
	}
	return 0;
}

/* Reads the service's dests on fd: does it meet cond? 1, 0 or -errno. */
static int sample(int fd, const struct svc *s, enum cond c)
{
	char buf[32768];
	size_t off = NLMSG_HDRLEN + GENL_HDRLEN, nest;
	struct nlattr *a;
	uint16_t af = AF_INET;
	char addr[16] = { 0 };
	int found = 0, r, rc;
	uint32_t weight = 0;

	memcpy(addr, &s->vip, 4);
	nest = off;
	off += NLA_HDRLEN;
	if (put_attr(buf, sizeof(buf), &off, IPVS_SVC_ATTR_AF, &af, 2) < 0 ||
	    put_attr(buf, sizeof(buf), &off, IPVS_SVC_ATTR_PROTOCOL, &s->proto, 2) < 0 ||
	    put_attr(buf, sizeof(buf), &off, IPVS_SVC_ATTR_ADDR, addr, 16) < 0 ||
	    put_attr(buf, sizeof(buf), &off, IPVS_SVC_ATTR_PORT, &s->port, 2) < 0)
		return -ENOSPC;
	a = (struct nlattr *)(buf + nest);
	a->nla_type = NLA_F_NESTED | IPVS_CMD_ATTR_SERVICE;
	a->nla_len = off - nest;
	rc = send_req(fd, buf, off, family_id, IPVS_CMD_GET_DEST, NLM_F_DUMP);
	if (rc < 0)
		return rc;
	do {
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0)
			return -errno;
		rc = read_reply(buf, r, s, &found, &weight);
	} while (rc == 0);
	if (rc < 0)
		return rc;
	switch (c) {
	case COND_UP:
		return found && weight > 0;
	case COND_ZERO:
		return found && weight == 0;
	case COND_GONE:
		return !found;
	default:
		return !found || weight == 0;
	}
}

/* The IPVS genl family id, asked on fd. */
static int resolve_family(int fd)
{
	char buf[8192];
	size_t off = NLMSG_HDRLEN + GENL_HDRLEN;
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
	int r;

	if (put_attr(buf, sizeof(buf), &off, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME,
		     sizeof(IPVS_GENL_NAME)) < 0 ||
	    send_req(fd, buf, off, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0) < 0)
		return -EIO;
	r = recv(fd, buf, sizeof(buf), 0);
	if (r < 0)
		return -errno;
	if (!NLMSG_OK(h, (unsigned)r) || h->nlmsg_type != GENL_ID_CTRL)
		return -ENOENT; /* an error reply: no IPVS in this kernel */
	parse_attrs((const char *)NLMSG_DATA(h) + GENL_HDRLEN,
		    h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, tb, CTRL_ATTR_MAX);
	if (!tb[CTRL_ATTR_FAMILY_ID])
		return -ENOENT;
	memcpy(&family_id, ATTR_DATA(tb[CTRL_ATTR_FAMILY_ID]), 2);
	return 0;
}

/* A generic netlink socket inside the namespace at path. */
static int open_in(const char *path)
{
	int ns = open(path, O_RDONLY | O_CLOEXEC), fd = -1;

	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
		fprintf(stderr, "ipvs_watch: %s: %s\n", path, strerror(errno));
		goto done;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		perror("ipvs_watch: socket");
done:
	if (ns >= 0)
		close(ns);
	return fd;
}

static int parse_addr(const char *s, struct in_addr *a, uint16_t *port, int need_port)
{
	char ip[64];
	const char *colon = strchr(s, ':');
	size_t l = colon ? (size_t)(colon - s) : strlen(s);

	if (l >= sizeof(ip) || (need_port && !colon))
		return -EINVAL;
	memcpy(ip, s, l);
	ip[l] = 0;
	*port = colon ? htons((uint16_t)atoi(colon + 1)) : 0;
	return inet_pton(AF_INET, ip, a) == 1 ? 0 : -EINVAL;
}

static int usage(void)
{
	fprintf(stderr, "usage: ipvs_watch [-t MS] [-i MS] tcp|udp VIP:PORT DEST[:PORT] "
			"up|zero|gone|out NETNS... [-- CMD ARGS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const char *conds[] = { "up", "zero", "gone", "out" };
	struct node nodes[MAX_NS];
	struct svc s = { 0 };
	long timeout = 10000, interval = 20, t0, trig = -1;
	int n = 0, i = 1, c = -1, left, self, status;
	char **cmd = NULL;
	pid_t pid = 0;

	for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] && !argv[i][2]; i += 2) {
		if (argv[i][1] == 't')
			timeout = atol(argv[i + 1]);
		else if (argv[i][1] == 'i')
			interval = atol(argv[i + 1]);
		else
			return usage();
	}
	if (argc - i < 5)
		return usage();
	s.proto = strcmp(argv[i], "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
	for (int k = 0; k < 4; k++)
		if (strcmp(argv[i + 3], conds[k]) == 0)
			c = k;
	if (parse_addr(argv[i + 1], &s.vip, &s.port, 1) < 0 ||
	    parse_addr(argv[i + 2], &s.dest, &s.dport, 0) < 0 || c < 0 || interval < 1)
		return usage();
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	for (i += 4; i < argc; i++) {
		const char *dash;

		if (strcmp(argv[i], "--") == 0) {
			cmd = argv + i + 1;
			break;
		}
		if (n == MAX_NS)
			return usage();
		dash = strrchr(argv[i], '-');
		nodes[n].name = dash ? dash + 1 : argv[i];
		nodes[n].ms = -1;
		nodes[n].fd = open_in(argv[i]);
		if (nodes[n].fd < 0 || (family_id == 0 && resolve_family(nodes[n].fd) < 0)) {
			fprintf(stderr, "ipvs_watch: no IPVS netlink family in %s\n", argv[i]);
			return 2;
		}
		n++;
	}
	/* the trigger runs where we were started */
	if (self < 0 || setns(self, CLONE_NEWNET) < 0 || n == 0)
		return usage();
	fflush(stdout);
	t0 = now_ms();
	if (cmd && *cmd) {
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			/* our stdout carries only the measurements */
			if (null >= 0)
				dup2(null, 1);
			execvp(cmd[0], cmd);
			perror("ipvs_watch: exec");
			_exit(127);
		}
	}
	left = n;
	while (left > 0 && now_ms() - t0 < timeout) {
		if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
			trig = now_ms() - t0;
			pid = 0;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "ipvs_watch: the trigger command failed\n");
				return 2;
			}
		}
		for (int k = 0; k < n; k++) {
			int r;

			if (nodes[k].ms >= 0)
				continue;
			r = sample(nodes[k].fd, &s, c);
			if (r < 0) {
				fprintf(stderr, "ipvs_watch: %s: %s\n", nodes[k].name, strerror(-r));
				return 2;
			}
			if (r) {
				nodes[k].ms = now_ms() - t0;
				left--;
			}
		}
		if (left > 0)
			usleep(interval * 1000);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		trig = now_ms() - t0;
	printf("start %ld\n", t0);
	if (cmd)
		printf("trigger %ld\n", trig);
	for (int k = 0; k < n; k++) {
		if (nodes[k].ms >= 0)
			printf("%s %ld\n", nodes[k].name, nodes[k].ms);
		else
			printf("%s timeout\n", nodes[k].name);
	}
	return left ? 1 : 0;
}
