/* udp_probe: UDP traffic for the VM's conntrack scenario (tests/vm/netfilter.sh), built by
 * tests/agent_vm.rs with `gcc -static` (busybox cannot bind a UDP source port).
 *
 *   udp_probe serve PORT NAME            answer every datagram with NAME, forever
 *   udp_probe ask SRC SPORT DST DPORT    send one datagram from SRC:SPORT, print the answer
 *                                        or "none" when none comes within 2 seconds
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct sockaddr_in addr(const char *ip, const char *port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "bad address %s\n", ip);
        exit(2);
    }
    return a;
}

int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1;
    if (s < 0) {
        perror("socket");
        return 2;
    }
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (argc == 4 && strcmp(argv[1], "serve") == 0) {
        struct sockaddr_in me = addr("0.0.0.0", argv[2]);
        if (bind(s, (struct sockaddr *)&me, sizeof me) < 0) {
            perror("bind");
            return 2;
        }
        for (;;) {
            char buf[512];
            struct sockaddr_in peer;
            socklen_t len = sizeof peer;
            if (recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len) < 0)
                continue;
            sendto(s, argv[3], strlen(argv[3]), 0, (struct sockaddr *)&peer, len);
        }
    }
    if (argc == 6 && strcmp(argv[1], "ask") == 0) {
        struct sockaddr_in me = addr(argv[2], argv[3]);
        struct sockaddr_in to = addr(argv[4], argv[5]);
        struct timeval tv = {2, 0};
        char buf[512];
        ssize_t n;
        if (bind(s, (struct sockaddr *)&me, sizeof me) < 0) {
            perror("bind");
            return 2;
        }
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (sendto(s, "q", 1, 0, (struct sockaddr *)&to, sizeof to) < 0) {
            perror("sendto");
            return 2;
        }
        n = recv(s, buf, sizeof buf - 1, 0);
        if (n < 0) {
            puts("none");
            return 0;
        }
        buf[n] = 0;
        puts(buf);
        return 0;
    }
    fprintf(stderr, "usage: udp_probe serve PORT NAME | ask SRC SPORT DST DPORT\n");
    return 2;
}
