/* shim.h: the C side of the LinearProgramming module's GLPK binding.
 *
 * GLPK reports misuse and internal failures through glp_error, which prints a message and then
 * calls abort(). A hook installed with glp_error_hook runs first, but if the hook returns, GLPK
 * still aborts: the only way to survive is to longjmp out of the hook. longjmp must never cross
 * Swift frames (Swift does not unwind; skipped frames would leak or corrupt reference counts),
 * so every GLPK call the module makes happens inside cglpk_solve: Swift hands over plain arrays,
 * and C builds the problem, solves it, reads the solution back and deletes the problem. Only C
 * frames lie between the setjmp in cglpk_guarded_solve and the longjmp in cglpk_leave_glpk.
 *
 * After a longjmp GLPK's state is inconsistent, so the calling thread's whole GLPK environment is
 * freed with glp_free_env(); that frees every GLPK object of the thread, including the problem
 * being solved. The next GLPK call on the thread creates a fresh environment.
 *
 * Threads: GLPK 5.0 keeps its environment (hooks, terminal settings, memory) in thread-local
 * storage when built with TLS (glp_config("TLS") != NULL), so problems on different threads do
 * not interact. The jmp_buf lives in cglpk_guarded_solve's own stack frame and reaches the hook
 * through the info pointer stored in that thread-local environment, so it is per thread and per
 * call. A GLPK built without TLS has one shared environment: cglpk_solve then serialises calls.
 */
#ifndef CGLPK_SHIM_H
#define CGLPK_SHIM_H

#include <glpk.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <string.h>

/* One structural variable (a GLPK column). */
typedef struct cglpk_column {
    int kind;          /* GLP_CV or GLP_IV */
    int type;          /* GLP_FR, GLP_LO, GLP_UP, GLP_DB or GLP_FX */
    double lower;
    double upper;
    double objective;  /* objective coefficient */
} cglpk_column;

/* One constraint (a GLPK row): bounds on the row's activity. */
typedef struct cglpk_row {
    int type;          /* GLP_LO, GLP_UP or GLP_FX */
    double lower;
    double upper;
} cglpk_row;

/* A whole problem, laid out as glp_load_matrix wants it. */
typedef struct cglpk_model {
    int direction;                  /* GLP_MIN or GLP_MAX */
    double objective_constant;
    int column_count;
    const cglpk_column *columns;    /* columns[0] is GLPK column 1 */
    int row_count;
    const cglpk_row *rows;          /* rows[0] is GLPK row 1 */
    int entry_count;                /* nonzero matrix entries, each (row, column) pair at most once */
    const int *entry_rows;          /* 1-based: element 0 unused, elements 1...entry_count used */
    const int *entry_columns;       /* 1-based, like entry_rows */
    const double *entry_values;     /* 1-based, like entry_rows */
} cglpk_model;

typedef struct cglpk_parameters {
    int presolve;           /* nonzero: use GLPK's presolvers */
    int relaxation_first;   /* nonzero: solve the LP relaxation first; branch only if it is fractional */
    int time_limit_ms;      /* 0: no limit */
    double relative_gap;    /* glp_iocp.mip_gap */
    int inject_error;       /* tests only: misuse GLPK inside the guard so that glp_error runs */
} cglpk_parameters;

/* How cglpk_solve ended (cglpk_outcome.result). */
#define CGLPK_OPTIMAL 0
#define CGLPK_STOPPED_AT_GAP 1
#define CGLPK_STOPPED_AT_TIME_LIMIT 2
#define CGLPK_INFEASIBLE 3
#define CGLPK_UNBOUNDED 4
#define CGLPK_TIME_LIMIT_WITHOUT_SOLUTION 5
/* A GLPK routine returned a failure: see failed_routine, return_code and solution_status. */
#define CGLPK_SOLVER_FAILED 6
/* glp_error ran; the thread's GLPK environment was freed; message holds GLPK's text. */
#define CGLPK_ERROR_TRAPPED 7

#define CGLPK_MESSAGE_CAPACITY 512

typedef struct cglpk_outcome {
    int result;
    int has_best_bound;
    double best_bound;
    const char *failed_routine;
    int return_code;
    int solution_status;
    char message[CGLPK_MESSAGE_CAPACITY];
} cglpk_outcome;

typedef struct cglpk_guard {
    jmp_buf jump;
} cglpk_guard;

/* Installed with glp_error_hook: leaves GLPK for the setjmp in cglpk_guarded_solve. */
static inline void cglpk_leave_glpk(void *info) {
    longjmp(((cglpk_guard *)info)->jump, 1);
}

/* Installed with glp_term_hook: keeps GLPK's terminal text (with terminal output off, only the
 * text glp_error prints) in the outcome and returns nonzero so that nothing reaches stdout. */
static inline int cglpk_capture_terminal(void *info, const char *text) {
    cglpk_outcome *outcome = info;
    size_t used = strlen(outcome->message);
    strncat(outcome->message, text, CGLPK_MESSAGE_CAPACITY - 1 - used);
    return 1;
}

/* glp_intopt callback: remembers the bound of the best active node as the search goes on. */
static inline void cglpk_track_best_bound(glp_tree *tree, void *info) {
    cglpk_outcome *outcome = info;
    int node = glp_ios_best_node(tree);
    if (node != 0) {
        outcome->best_bound = glp_ios_node_bound(tree, node);
        outcome->has_best_bound = 1;
    }
}

static inline void cglpk_load(glp_prob *problem, const cglpk_model *model) {
    glp_set_obj_dir(problem, model->direction);
    glp_set_obj_coef(problem, 0, model->objective_constant);
    /* glp_add_cols and glp_add_rows reject a count of zero. */
    if (model->column_count > 0) {
        glp_add_cols(problem, model->column_count);
    }
    for (int j = 0; j < model->column_count; j++) {
        const cglpk_column *column = &model->columns[j];
        glp_set_col_kind(problem, j + 1, column->kind);
        glp_set_col_bnds(problem, j + 1, column->type, column->lower, column->upper);
        glp_set_obj_coef(problem, j + 1, column->objective);
    }
    if (model->row_count > 0) {
        glp_add_rows(problem, model->row_count);
    }
    for (int i = 0; i < model->row_count; i++) {
        const cglpk_row *row = &model->rows[i];
        glp_set_row_bnds(problem, i + 1, row->type, row->lower, row->upper);
    }
    if (model->entry_count > 0) {
        glp_load_matrix(problem, model->entry_count, model->entry_rows, model->entry_columns,
                        model->entry_values);
    }
}

static inline int cglpk_has_integer_columns(const cglpk_model *model) {
    for (int j = 0; j < model->column_count; j++) {
        if (model->columns[j].kind == GLP_IV) {
            return 1;
        }
    }
    return 0;
}

static inline int cglpk_basic_solution_is_integral(glp_prob *problem, const cglpk_model *model) {
    glp_iocp defaults;
    glp_init_iocp(&defaults);
    for (int j = 0; j < model->column_count; j++) {
        if (model->columns[j].kind == GLP_IV) {
            double value = glp_get_col_prim(problem, j + 1);
            if (fabs(value - floor(value + 0.5)) > defaults.tol_int) {
                return 0;
            }
        }
    }
    return 1;
}

/* Copies the basic (mip == 0) or integer (mip != 0) solution, rounding integer columns. */
static inline void cglpk_read_values(glp_prob *problem, const cglpk_model *model, int mip,
                                     double *values) {
    for (int j = 0; j < model->column_count; j++) {
        double value = mip ? glp_mip_col_val(problem, j + 1) : glp_get_col_prim(problem, j + 1);
        values[j] = model->columns[j].kind == GLP_IV ? floor(value + 0.5) : value;
    }
}

static inline int cglpk_failure(cglpk_outcome *outcome, const char *routine, int code,
                                int status) {
    outcome->failed_routine = routine;
    outcome->return_code = code;
    outcome->solution_status = status;
    return CGLPK_SOLVER_FAILED;
}

/* GLPK's presolvers report "no dual feasible solution" both for unbounded and for infeasible
 * problems. The primal simplex without presolve, from a standard basis, tells them apart. */
static inline int cglpk_classify_dual_infeasible(glp_prob *problem, cglpk_outcome *outcome) {
    glp_smcp simplex;
    glp_init_smcp(&simplex);
    simplex.msg_lev = GLP_MSG_OFF;
    glp_std_basis(problem);
    int code = glp_simplex(problem, &simplex);
    int status = glp_get_status(problem);
    if (code == 0 && status == GLP_NOFEAS) {
        return CGLPK_INFEASIBLE;
    }
    if (code == 0 && status == GLP_UNBND) {
        return CGLPK_UNBOUNDED;
    }
    return cglpk_failure(outcome, "glp_simplex", code, status);
}

static inline int cglpk_remaining_ms(const cglpk_parameters *parameters, double started_ms) {
    if (parameters->time_limit_ms <= 0) {
        return INT_MAX;
    }
    double left = parameters->time_limit_ms - (glp_time() - started_ms);
    return left < 1.0 ? 1 : (int)left;
}

/* Solves the LP relaxation with glp_simplex. Returns a final result, or -1 when the relaxation is
 * optimal but fractional and branch and bound must follow. */
static inline int cglpk_solve_relaxation(glp_prob *problem, const cglpk_model *model,
                                  const cglpk_parameters *parameters, double started_ms,
                                  double *values, cglpk_outcome *outcome) {
    int integer = cglpk_has_integer_columns(model);
    glp_smcp simplex;
    glp_init_smcp(&simplex);
    simplex.msg_lev = GLP_MSG_OFF;
    simplex.presolve = parameters->presolve ? GLP_ON : GLP_OFF;
    simplex.tm_lim = cglpk_remaining_ms(parameters, started_ms);
    int code = glp_simplex(problem, &simplex);
    int status = glp_get_status(problem);
    switch (code) {
    case 0:
        break;
    case GLP_ENOPFS:
        return CGLPK_INFEASIBLE;
    case GLP_ENODFS:
        return cglpk_classify_dual_infeasible(problem, outcome);
    case GLP_ETMLIM:
        if (status == GLP_FEAS && (!integer || cglpk_basic_solution_is_integral(problem, model))) {
            cglpk_read_values(problem, model, 0, values);
            return CGLPK_STOPPED_AT_TIME_LIMIT;
        }
        return CGLPK_TIME_LIMIT_WITHOUT_SOLUTION;
    default:
        return cglpk_failure(outcome, "glp_simplex", code, status);
    }
    switch (status) {
    case GLP_OPT:
        break;
    case GLP_NOFEAS:
        return CGLPK_INFEASIBLE;
    case GLP_UNBND:
        return CGLPK_UNBOUNDED;
    default:
        return cglpk_failure(outcome, "glp_simplex", code, status);
    }
    outcome->best_bound = glp_get_obj_val(problem);
    outcome->has_best_bound = 1;
    if (integer && !cglpk_basic_solution_is_integral(problem, model)) {
        return -1;
    }
    cglpk_read_values(problem, model, 0, values);
    return CGLPK_OPTIMAL;
}

static inline int cglpk_branch_and_bound(glp_prob *problem, const cglpk_model *model,
                                  const cglpk_parameters *parameters, double started_ms,
                                  double *values, cglpk_outcome *outcome) {
    glp_iocp search;
    glp_init_iocp(&search);
    search.msg_lev = GLP_MSG_OFF;
    search.presolve = parameters->presolve ? GLP_ON : GLP_OFF;
    search.tm_lim = cglpk_remaining_ms(parameters, started_ms);
    search.mip_gap = parameters->relative_gap;
    search.cb_func = cglpk_track_best_bound;
    search.cb_info = outcome;
    int code = glp_intopt(problem, &search);
    int status = glp_mip_status(problem);
    int has_solution = status == GLP_OPT || status == GLP_FEAS;
    switch (code) {
    case 0:
        if (status == GLP_OPT) {
            cglpk_read_values(problem, model, 1, values);
            return CGLPK_OPTIMAL;
        }
        if (status == GLP_NOFEAS) {
            return CGLPK_INFEASIBLE;
        }
        return cglpk_failure(outcome, "glp_intopt", code, status);
    case GLP_EMIPGAP:
        if (has_solution) {
            cglpk_read_values(problem, model, 1, values);
            return CGLPK_STOPPED_AT_GAP;
        }
        return cglpk_failure(outcome, "glp_intopt", code, status);
    case GLP_ETMLIM:
        if (has_solution) {
            cglpk_read_values(problem, model, 1, values);
            return CGLPK_STOPPED_AT_TIME_LIMIT;
        }
        return CGLPK_TIME_LIMIT_WITHOUT_SOLUTION;
    case GLP_ENOPFS:
        return CGLPK_INFEASIBLE;
    case GLP_ENODFS:
        return cglpk_classify_dual_infeasible(problem, outcome);
    default:
        return cglpk_failure(outcome, "glp_intopt", code, status);
    }
}

/* Pure LPs go to glp_simplex only. MIPs solve the relaxation first when asked to (or when
 * presolve is off, because glp_intopt without presolve needs an optimal relaxation basis) and
 * branch only if the relaxation is fractional. */
static inline int cglpk_run(glp_prob *problem, const cglpk_model *model,
                     const cglpk_parameters *parameters, double *values, cglpk_outcome *outcome) {
    double started_ms = glp_time();
    int integer = cglpk_has_integer_columns(model);
    if (!integer || parameters->relaxation_first || !parameters->presolve) {
        int result = cglpk_solve_relaxation(problem, model, parameters, started_ms, values, outcome);
        if (result >= 0) {
            return result;
        }
    }
    return cglpk_branch_and_bound(problem, model, parameters, started_ms, values, outcome);
}

/* The guard frame: stays alive for every GLPK call of one solve. */
static inline int cglpk_guarded_solve(const cglpk_model *model, const cglpk_parameters *parameters,
                               double *values, cglpk_outcome *outcome) {
    cglpk_guard guard;
    if (setjmp(guard.jump) != 0) {
        glp_free_env();
        return CGLPK_ERROR_TRAPPED;
    }
    glp_error_hook(cglpk_leave_glpk, &guard);
    glp_term_hook(cglpk_capture_terminal, outcome);
    int terminal_output = glp_term_out(GLP_OFF);
    glp_prob *problem = glp_create_prob();
    cglpk_load(problem, model);
    if (parameters->inject_error) {
        glp_set_col_bnds(problem, model->column_count + 1, GLP_FR, 0.0, 0.0);
    }
    int result = cglpk_run(problem, model, parameters, values, outcome);
    glp_delete_prob(problem);
    glp_term_out(terminal_output);
    glp_term_hook(NULL, NULL);
    glp_error_hook(NULL, NULL);
    return result;
}

static pthread_mutex_t cglpk_shared_environment_lock = PTHREAD_MUTEX_INITIALIZER;

/* Builds, solves and deletes one problem. values receives model->column_count entries when the
 * result is CGLPK_OPTIMAL, CGLPK_STOPPED_AT_GAP or CGLPK_STOPPED_AT_TIME_LIMIT. Never aborts. */
static inline void cglpk_solve(const cglpk_model *model, const cglpk_parameters *parameters,
                               double *values, cglpk_outcome *outcome) {
    memset(outcome, 0, sizeof *outcome);
    int shared_environment = glp_config("TLS") == NULL;
    if (shared_environment) {
        pthread_mutex_lock(&cglpk_shared_environment_lock);
    }
    outcome->result = cglpk_guarded_solve(model, parameters, values, outcome);
    if (shared_environment) {
        pthread_mutex_unlock(&cglpk_shared_environment_lock);
    }
}

#endif
