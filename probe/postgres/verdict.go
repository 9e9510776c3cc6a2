package postgres

import (
	"fmt"

	"github.com/gownscan/gown"
)

// methodReason says in words what an authentication request asks for.
var methodReason = map[string]string{
	"password":        "asks for a clear-text password",
	"md5":             "asks for an MD5 password",
	"gss":             "asks for Kerberos (GSSAPI) credentials",
	"sspi":            "asks for Windows (SSPI) credentials",
	"scm-credentials": "asks for SCM credentials",
}

// verdict sets the status, reason and details from the startup reply on db.
func (r *run) verdict(rep startupReply, db string) {
	res := r.res
	res.Product = productOf(rep.Params)
	res.Version = rep.Params["server_version"]
	if su := rep.Params["is_superuser"]; su != "" {
		res.Detail("superuser", su)
		if su == "on" {
			res.Facts.Admin = "the session is a superuser's"
		}
	}
	if rep.AuthOK {
		res.Detail("auth", "trust")
	} else if rep.Method != "" {
		res.Detail("auth", rep.Method)
	}
	if rep.SASL != "" {
		res.Detail("sasl", rep.SASL)
	}
	if rep.Err != nil {
		res.Detail("sqlstate", rep.Err.Code)
		res.Detail("error", rep.Err.Message)
	}
	res.Status, res.Reason = judge(rep, db)
	if res.Status == gown.StatusOpen {
		res.Detail("database", db)
	}
}

// judge maps a startup reply to a verdict and its reason.
func judge(rep startupReply, db string) (gown.Status, string) {
	switch {
	case rep.Ready:
		return gown.StatusOpen, "trust: postgres logged in without a password"
	case rep.Method != "":
		if why, ok := methodReason[rep.Method]; ok {
			return gown.StatusAuthRequired, why
		}
		return gown.StatusAuthRequired, "asks for a password (" + rep.Method + ")"
	case rep.Err == nil:
		// readStartup returns only on one of the three above.
		return gown.StatusUnknown, "startup ended without a verdict"
	case rep.AuthOK && rep.Err.Code == codeInvalidAuthorization:
		// Trust let the client through authentication; the role check
		// after it failed. Another role name would get in.
		return gown.StatusRestricted, "trusts this client, but role postgres does not exist"
	case rep.AuthOK && rep.Err.Code == codeUnknownDatabase:
		return gown.StatusOpen, fmt.Sprintf("trust: postgres authenticated without a password, but database %s does not exist", db)
	case rep.AuthOK:
		return gown.StatusOpen, fmt.Sprintf("trust: postgres authenticated without a password, then the session failed (SQLSTATE %s)", rep.Err.Code)
	}
	switch rep.Err.Code {
	case codeInvalidAuthorization:
		return gown.StatusRestricted, "pg_hba.conf refuses this client (SQLSTATE 28000)"
	case codeInvalidPassword:
		return gown.StatusAuthRequired, "password authentication failed (SQLSTATE 28P01)"
	case codeTooManyConnections:
		return gown.StatusUnknown, "too many connections: could not start up (SQLSTATE 53300)"
	case codeCannotConnectNow:
		return gown.StatusUnknown, "not accepting connections now: starting, stopping or in recovery (SQLSTATE 57P03)"
	}
	return gown.StatusUnknown, fmt.Sprintf("startup refused (SQLSTATE %s)", rep.Err.Code)
}
