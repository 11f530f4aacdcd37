package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Preflight runs every check vigil serve makes before it binds anything,
// for the role the file gives it (an agent or a hub), and returns the
// secrets it read: the variables each _env key names (Secret's rule), the
// channels' secrets, the files serve opens (TLS certificate and key, CA
// files, authorized keys, the SSH host key) and the data directory
// (writable, or creatable). Parse has already checked what needs no
// environment: addresses and ports, runbook templates run against sample
// incidents. serve and check-config both call it, so check-config finds
// everything serve would refuse; every error names file, line and key.
func Preflight(cfg Config, getenv func(string) string) (Secrets, error) {
	var errs Errors
	secrets, err := cfg.Secrets(getenv)
	errs = appendErrs(errs, err)
	s := cfg.Serve
	if s.Reporting() {
		errs = appendErrs(errs, cfg.checkCA([]string{"serve", "report", "ca_file"}, -1, s.Report.CAFile))
		return secrets, errsOrNil(errs)
	}
	_, err = cfg.Senders(getenv)
	errs = appendErrs(errs, err)
	errs = appendErrs(errs, cfg.checkDir([]string{"serve", "data_dir"}, s.DataDir))
	if s.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey); err != nil {
			errs = append(errs, cfg.ErrorAt([]string{"serve", "tls_cert"}, -1, "%v", err))
		}
	}
	if ssh := s.SSH; ssh != nil {
		key := func(k string) []string { return []string{"serve", "ssh", k} }
		errs = appendErrs(errs, cfg.checkReadable(key("authorized_keys"), ssh.AuthorizedKeys))
		if ssh.ReadOnlyKeys != "" {
			errs = appendErrs(errs, cfg.checkReadable(key("read_only_keys"), ssh.ReadOnlyKeys))
		}
		if _, err := os.Stat(ssh.HostKey); errors.Is(err, fs.ErrNotExist) {
			errs = appendErrs(errs, cfg.checkDir(key("host_key"), filepath.Dir(ssh.HostKey)))
		} else {
			errs = appendErrs(errs, cfg.checkReadable(key("host_key"), ssh.HostKey))
		}
	}
	return secrets, errsOrNil(errs)
}

// CheckDashboard is Preflight for the dashboard's part of the file: each
// feed's token variable and CA file.
func CheckDashboard(cfg Config, getenv func(string) string) error {
	_, err := cfg.FeedTokens(getenv)
	errs := appendErrs(nil, err)
	for i, f := range cfg.Feeds {
		errs = appendErrs(errs, cfg.checkCA([]string{"feeds", "ca_file"}, i, f.CAFile))
	}
	return errsOrNil(errs)
}

func (c *Config) checkReadable(key []string, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return c.ErrorAt(key, -1, "%v", err)
	}
	f.Close()
	return nil
}

// checkCA reads a CA file as the TLS client does: PEM certificates.
func (c *Config) checkCA(key []string, index int, path string) error {
	if path == "" {
		return nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return c.ErrorAt(key, index, "%v", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return c.ErrorAt(key, index, "%s holds no PEM certificate", path)
	}
	return nil
}

// checkDir reports whether files can be created in dir, or in the nearest
// directory above it that exists (serve creates the rest), by creating and
// removing one.
func (c *Config) checkDir(key []string, dir string) error {
	probe := dir
	for {
		fi, err := os.Stat(probe)
		if err == nil {
			if !fi.IsDir() {
				return c.ErrorAt(key, -1, "%s is not a directory", probe)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(probe) == probe {
			return c.ErrorAt(key, -1, "%v", err)
		}
		probe = filepath.Dir(probe)
	}
	f, err := os.CreateTemp(probe, ".vigil-check-*")
	if err != nil {
		what := "cannot write in " + probe
		if probe != dir {
			what = fmt.Sprintf("cannot create %s: cannot write in %s", dir, probe)
		}
		return c.ErrorAt(key, -1, "%s (%v)", what, errors.Unwrap(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// appendErrs appends err's configuration errors to errs.
func appendErrs(errs Errors, err error) Errors {
	var one *Error
	var many Errors
	switch {
	case err == nil:
	case errors.As(err, &many):
		errs = append(errs, many...)
	case errors.As(err, &one):
		errs = append(errs, one)
	default:
		errs = append(errs, &Error{Msg: err.Error()})
	}
	return errs
}

// CheckAll is what check-config runs: the dashboard's checks, and, when
// the file has a [serve] table, Preflight, as vigil serve would run it.
func CheckAll(cfg Config, getenv func(string) string) error {
	errs := appendErrs(nil, CheckDashboard(cfg, getenv))
	if cfg.serves {
		_, err := Preflight(cfg, getenv)
		errs = appendErrs(errs, err)
	}
	return errsOrNil(errs)
}
