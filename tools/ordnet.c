/* ordnet.c - the command-line tool: subcommands over libordnet, nothing more. */
#include "ordnet.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        printf("usage: ordnet COMMAND [ARGS]\n");
        return 0;
    }
    return 0;
}
