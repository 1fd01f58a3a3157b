import CGLPK

/// Readable names for GLPK's return codes and solution statuses, for error messages.
enum GLPKCodes {
    /// `GLP_EFAIL (solver failed)` and the like.
    static func describeReturnCode(_ code: Int32) -> String {
        switch code {
        case 0: "0 (success)"
        case GLP_EBADB: "GLP_EBADB (invalid basis)"
        case GLP_ESING: "GLP_ESING (singular matrix)"
        case GLP_ECOND: "GLP_ECOND (ill-conditioned matrix)"
        case GLP_EBOUND: "GLP_EBOUND (invalid bounds)"
        case GLP_EFAIL: "GLP_EFAIL (solver failed)"
        case GLP_EOBJLL: "GLP_EOBJLL (objective lower limit reached)"
        case GLP_EOBJUL: "GLP_EOBJUL (objective upper limit reached)"
        case GLP_EITLIM: "GLP_EITLIM (iteration limit exceeded)"
        case GLP_ETMLIM: "GLP_ETMLIM (time limit exceeded)"
        case GLP_ENOPFS: "GLP_ENOPFS (no primal feasible solution)"
        case GLP_ENODFS: "GLP_ENODFS (no dual feasible solution)"
        case GLP_EROOT: "GLP_EROOT (root LP optimum not provided)"
        case GLP_ESTOP: "GLP_ESTOP (search terminated by application)"
        case GLP_EMIPGAP: "GLP_EMIPGAP (relative MIP gap tolerance reached)"
        default: "code \(code)"
        }
    }

    /// `GLP_UNDEF (undefined)` and the like.
    static func describeStatus(_ status: Int32) -> String {
        switch status {
        case GLP_UNDEF: "GLP_UNDEF (undefined)"
        case GLP_FEAS: "GLP_FEAS (feasible)"
        case GLP_INFEAS: "GLP_INFEAS (infeasible)"
        case GLP_NOFEAS: "GLP_NOFEAS (no feasible solution exists)"
        case GLP_OPT: "GLP_OPT (optimal)"
        case GLP_UNBND: "GLP_UNBND (unbounded)"
        default: "status \(status)"
        }
    }
}
