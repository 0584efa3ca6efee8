/* cmd_ops.c - the layers ordnet has. */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(args *a) {
    int rc = cli_parse(a, NULL, 0, 0);
    if (rc != CLI_GO) return rc;
    for (int i = 0; i < on_op_count(); i++) printf("%s\n", on_op_name(on_op_at(i)));
    return 0;
}

const command cmd_ops = {"ops", run, "list the layers ordnet has", "ops",
                         "Prints the name of every layer (op) ordnet has, one a line.\n"};
