package ioc

import (
	"regexp"
	"strings"
)

var (
	// schemeRe matches a URL scheme followed by "://".
	schemeRe = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://`)
	// drivePathRe matches the start of a Windows path: "C:\", "\\server",
	// "%SystemRoot%\", "\??\" and the like.
	drivePathRe = regexp.MustCompile(`^([a-z]:[\\/]|\\\\|%[^%\s]+%\\|\\\?\?\\)`)
	// upnRe matches alice@corp.local (a UPN or e-mail address).
	upnRe = regexp.MustCompile(`^[^@\s\\/]+@[a-z0-9_-]+(\.[a-z0-9_-]+)*\.[a-z]{2,}$`)
	// userRe matches DOMAIN\user; the domain part may be "NT AUTHORITY".
	userRe = regexp.MustCompile(`^[a-z0-9][a-z0-9 ._-]*\\[^\\/:*?"<>|\s][^\\/:*?"<>|]*$`)
	// fileRe matches a bare file name with an extension.
	fileRe = regexp.MustCompile(`^[^\\/:*?"<>|\s]+\.([a-z0-9]{1,6})$`)
)

// fileExt reports whether ext is a file extension that DetectType should
// prefer over reading "name.ext" as a domain. A few are also top-level
// domains (zip, mov, py, sh); pasted IOCs of that shape are far more often
// files. "com" is deliberately absent: evil.com is a domain.
func fileExt(ext string) bool {
	switch ext {
	case "exe", "dll", "sys", "drv", "ocx", "cpl", "scr", "pif",
		"ps1", "psm1", "psd1", "bat", "cmd", "vbs", "vbe", "js", "jse",
		"wsf", "wsh", "hta", "lnk", "msi", "msp", "inf", "reg", "jar",
		"py", "sh", "elf", "bin", "dat", "tmp", "log", "txt", "csv",
		"zip", "rar", "7z", "gz", "tar", "iso", "img", "vhd", "vhdx", "cab",
		"doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "pptm",
		"rtf", "pdf", "one", "eml", "msg", "chm", "xll", "wll", "iqy", "slk",
		"evtx", "dmp", "mov", "apk", "so", "dylib", "aspx", "asp", "jsp", "php":
		return true
	}
	return false
}

// DetectType guesses the type of a pasted IOC value: IPs and CIDRs, hashes
// by length, SIDs, URLs (any "scheme://"), registry paths, Windows paths,
// DOMAIN\user and user@domain names, file names with a known extension,
// domain names; anything else is TypeString. Defanged forms are recognised
// ("hxxp://evil[.]com" is a URL). "setup.zip" is a file name even though
// zip is also a top-level domain; type such an IOC explicitly if needed.
func DetectType(value string) Type {
	v := refang(strings.TrimSpace(value))
	if v == "" {
		return TypeString
	}
	if _, err := parseIPIOC(v); err == nil {
		return TypeIP
	}
	if allHex(v) {
		switch len(v) {
		case 32:
			return TypeMD5
		case 40:
			return TypeSHA1
		case 64:
			return TypeSHA256
		}
	}
	if sidRe.MatchString(v) {
		return TypeSID
	}
	lower := strings.ToLower(v)
	if schemeRe.MatchString(lower) {
		return TypeURL
	}
	for h := range hiveCount {
		for _, name := range hiveNames(h) {
			if strings.HasPrefix(lower, name) {
				return TypeRegistry
			}
		}
	}
	if drivePathRe.MatchString(lower) {
		// "C:\Tools\x.exe -enc …" is a command line, not a path.
		if _, rest, ok := strings.Cut(lower, " "); ok && strings.ContainsAny(rest, "-/") && !strings.Contains(rest, `\`) {
			return TypeString
		}
		return TypeFilepath
	}
	if upnRe.MatchString(lower) {
		return TypeUsername
	}
	if userRe.MatchString(lower) {
		if m := fileRe.FindStringSubmatch(lower[strings.IndexByte(lower, '\\')+1:]); m == nil || !fileExt(m[1]) {
			return TypeUsername
		}
	}
	if !strings.ContainsAny(lower, " \t") && strings.Contains(lower, `\`) {
		return TypeFilepath
	}
	if m := fileRe.FindStringSubmatch(lower); m != nil && fileExt(m[1]) {
		return TypeFilename
	}
	if d := strings.TrimSuffix(strings.TrimPrefix(lower, "*."), "."); isDomainName(d) && hasAlphaTLD(d) {
		return TypeDomain
	}
	return TypeString
}

// hasAlphaTLD reports whether the last label of d is at least two letters.
func hasAlphaTLD(d string) bool {
	tld := d[strings.LastIndexByte(d, '.')+1:]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if tld[i] < 'a' || tld[i] > 'z' {
			return false
		}
	}
	return true
}
