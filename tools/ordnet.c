/* ordnet.c - the command-line tool: subcommands over libordnet, nothing more.
 * Each command is one file (tools/cmd_NAME.c) and one entry in this table. */
#include "cli.h"
#include "exec.h"

#include <stdio.h>
#include <string.h>

/* clang-format off: one command per line */
static const command *const commands[] = {
    &cmd_study,   &cmd_train, &cmd_eval, &cmd_predict, &cmd_analyze, &cmd_optimize,
    &cmd_summary, &cmd_bench, &cmd_ops,  &cmd_run,     &cmd_export,
};
/* clang-format on */
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f) {
    fprintf(f,
            "ordnet %s: does the order of your layers matter?\n\nusage: ordnet COMMAND [ARGS]\n\n",
            ORDNET_VERSION);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nordnet COMMAND --help describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ordnet %s\n", ORDNET_VERSION);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i]->name)) continue;
        if (mpi_launched()) {
            if (!mpi_available()) {
                fprintf(stderr, "ordnet: started by mpirun (an MPI launcher), but this ordnet was "
                                "built without MPI: stopping rather than run the same command "
                                "on every rank (rebuild with libopenmpi-dev installed)\n");
                return 1;
            }
            if (commands[i] != &cmd_study && commands[i] != &cmd_train) {
                fprintf(stderr, "ordnet %s does not run on MPI ranks (study and train do)\n",
                        argv[1]);
                return 2;
            }
        }
        args a = {.argc = argc, .i = 2, .argv = argv, .cmd = commands[i]};
        int rc = commands[i]->run(&a);
        mpi_finalize();
        return rc;
    }
    fprintf(stderr, "ordnet: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
