/* nlsend: the smallest netlink client, for the kernel tests (ipvs/tests/kernel.rs).
 *
 * usage: nlsend FILE...
 * Sends each FILE (one or many netlink messages, as svcroute-ipvs emitted them) with ONE
 * sendto() on a NETLINK_GENERIC socket, then reads what the kernel answers until 300 ms pass
 * without data, and writes it to FILE.reply. All the netlink logic is in the Rust codec: this
 * only moves bytes. Built on the host with `gcc -static`.
 */
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static char buf[1 << 17];

int main(int argc, char **argv) {
    int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);
    if (fd < 0) { perror("socket"); return 1; }
    struct sockaddr_nl local = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) { perror("bind"); return 1; }
    struct timeval tv = { .tv_sec = 0, .tv_usec = 300000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int i = 1; i < argc; i++) {
        FILE *in = fopen(argv[i], "rb");
        if (!in) { perror(argv[i]); return 1; }
        size_t n = fread(buf, 1, sizeof buf, in);
        fclose(in);
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        if (sendto(fd, buf, n, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) { perror("sendto"); return 1; }
        char name[4096];
        snprintf(name, sizeof name, "%s.reply", argv[i]);
        FILE *out = fopen(name, "wb");
        if (!out) { perror(name); return 1; }
        for (int k = 0; k < 100000; k++) { /* bounded */
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0) break;
            fwrite(buf, 1, (size_t)r, out);
        }
        fclose(out);
        printf("%s: sent %zu bytes\n", argv[i], n);
    }
    return 0;
}
