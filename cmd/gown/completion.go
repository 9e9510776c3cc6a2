package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/fleet"
	"github.com/gownscan/gown/report"
	"github.com/spf13/pflag"
)

// completionLong is gown help completion.
const completionLong = `Prints a completion script for bash, zsh or fish, made from the same command
and flag definitions as gown help: commands, subcommands, flags, the values of
--format, --fail-on, --probers and --view, and file names where a flag or an
operand takes a file.

  bash:  source <(gown completion bash)      # or save it in /etc/bash_completion.d/gown
  zsh:   gown completion zsh > "${fpath[1]}/_gown"   # then compinit
  fish:  gown completion fish > ~/.config/fish/completions/gown.fish`

// cmdCompletion prints a shell's completion script.
func cmdCompletion(ctx context.Context, args []string, std stdio) error {
	fs := pflag.NewFlagSet("gown completion", pflag.ContinueOnError)
	if err := parseFlags(fs, "completion", args, std); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("gown completion: give one of bash, zsh, fish")}
	}
	spec := completionSpec()
	switch fs.Arg(0) {
	case "bash":
		return writeBash(std.out, spec)
	case "zsh":
		return writeZsh(std.out, spec)
	case "fish":
		return writeFish(std.out, spec)
	}
	return usageError{fmt.Errorf("gown completion: no script for %q: give one of bash, zsh, fish", fs.Arg(0))}
}

// compFlag is a flag as completion sees it.
type compFlag struct {
	long, short string
	usage       string
	takesValue  bool
	values      []string // fixed choices
	file, dir   bool
}

// compCmd is a command as completion sees it.
type compCmd struct {
	doc   *cmdDoc
	flags []compFlag
}

// completionSpec reads every command's doc and flag set.
func completionSpec() []compCmd {
	var out []compCmd
	for _, d := range commandDocs {
		c := compCmd{doc: d}
		describeFlags(d.name).VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			varname, usage := pflag.UnquoteUsage(f)
			cf := compFlag{long: f.Name, short: f.Shorthand, usage: firstClause(usage),
				takesValue: f.Value.Type() != "bool" && f.NoOptDefVal == ""}
			cf.values = flagValues(d.name, f.Name)
			cf.file = varname == "FILE" || strings.HasSuffix(f.Name, "-file") || f.Name == "list" || f.Name == "output" || f.Name == "from" || f.Name == "config"
			cf.dir = varname == "DIR"
			c.flags = append(c.flags, cf)
		})
		out = append(out, c)
	}
	return out
}

// flagValues are the fixed choices of a flag, where it has them.
func flagValues(cmd, flag string) []string {
	var sev []string
	for s := gown.SeverityInfo; s <= gown.SeverityCritical; s++ {
		sev = append(sev, s.String())
	}
	switch {
	case flag == "fail-on" || flag == "alert-on":
		return sev
	case flag == "probers":
		return proberNames()
	case cmd == "report" && flag == "format":
		return report.Formats()
	case cmd == "fleet report" && flag == "format":
		return fleet.ReportFormats
	case cmd == "fleet report" && flag == "view":
		return fleet.Views
	case cmd == "fleet import" && flag == "format":
		return fleet.Formats
	}
	return nil
}

// firstClause keeps a flag's usage short enough for a completion menu.
func firstClause(s string) string {
	if i := strings.IndexAny(s, ";("); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// groupWords are the words that begin two-word commands, with their
// second words (fleet: import, scan, report).
func groupWords() map[string][]string {
	g := map[string][]string{}
	for _, d := range commandDocs {
		if a, b, ok := strings.Cut(d.name, " "); ok {
			g[a] = append(g[a], b)
		}
	}
	return g
}

func sortedKeys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// funcName is a command's name as part of a shell function's name.
func funcName(cmd string) string { return strings.ReplaceAll(cmd, " ", "_") }

func writeBash(w io.Writer, spec []compCmd) error {
	var b strings.Builder
	groups := groupWords()
	b.WriteString(`# bash completion for gown: source <(gown completion bash)
# Made by gown completion bash from gown's own command and flag definitions.
_gown() {
    local cur prev cmd
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev=""
    [[ $COMP_CWORD -gt 0 ]] && prev="${COMP_WORDS[COMP_CWORD-1]}"
    COMPREPLY=()
    if [[ $COMP_CWORD -eq 1 ]]; then
`)
	fmt.Fprintf(&b, "        COMPREPLY=( $(compgen -W %q -- \"$cur\") )\n        return\n    fi\n", strings.Join(commandNames(), " "))
	b.WriteString("    cmd=\"${COMP_WORDS[1]}\"\n    case \"${COMP_WORDS[1]}\" in\n")
	for _, g := range sortedKeys(groups) {
		subs := groups[g]
		fmt.Fprintf(&b, "    %s)\n        if [[ $COMP_CWORD -eq 2 && $cur != -* ]]; then\n", g)
		fmt.Fprintf(&b, "            COMPREPLY=( $(compgen -W %q -- \"$cur\") )\n", strings.Join(subs, " "))
		if docOf(g) == nil {
			b.WriteString("            return\n")
		} else {
			b.WriteString("            [[ ${#COMPREPLY[@]} -gt 0 ]] && return\n")
		}
		b.WriteString("        fi\n        case \"${COMP_WORDS[2]}\" in\n")
		fmt.Fprintf(&b, "        %s) cmd=\"%s ${COMP_WORDS[2]}\" ;;\n", strings.Join(subs, "|"), g)
		b.WriteString("        esac\n        ;;\n")
	}
	b.WriteString("    esac\n    local flags=\"\"\n    case \"$cmd\" in\n")
	for _, c := range spec {
		var names, valued, files, dirs []string
		for _, f := range c.flags {
			names = append(names, "--"+f.long)
			if f.short != "" {
				names = append(names, "-"+f.short)
			}
			forms := "--" + f.long
			if f.short != "" {
				forms += "|-" + f.short
			}
			switch {
			case len(f.values) > 0:
				fmt.Fprintf(&b, "    %q) case \"$prev\" in %s) COMPREPLY=( $(compgen -W %q -- \"$cur\") ); return ;; esac ;;&\n",
					c.doc.name, forms, strings.Join(f.values, " "))
			case f.file && f.takesValue:
				files = append(files, forms)
			case f.dir && f.takesValue:
				dirs = append(dirs, forms)
			case f.takesValue:
				valued = append(valued, forms)
			}
		}
		fmt.Fprintf(&b, "    %q)\n", c.doc.name)
		if len(files) > 0 {
			fmt.Fprintf(&b, "        case \"$prev\" in %s) COMPREPLY=( $(compgen -f -- \"$cur\") ); compopt -o filenames 2>/dev/null; return ;; esac\n", strings.Join(files, "|"))
		}
		if len(dirs) > 0 {
			fmt.Fprintf(&b, "        case \"$prev\" in %s) COMPREPLY=( $(compgen -d -- \"$cur\") ); compopt -o filenames 2>/dev/null; return ;; esac\n", strings.Join(dirs, "|"))
		}
		if len(valued) > 0 {
			fmt.Fprintf(&b, "        case \"$prev\" in %s) return ;; esac\n", strings.Join(valued, "|"))
		}
		fmt.Fprintf(&b, "        flags=%q\n", strings.Join(names, " "))
		if c.doc.words != nil {
			fmt.Fprintf(&b, "        if [[ $cur != -* ]]; then COMPREPLY=( $(compgen -W %q -- \"$cur\") ); return; fi\n", strings.Join(c.doc.words, " "))
		}
		if c.doc.complete == operandFiles {
			b.WriteString("        if [[ $cur != -* ]]; then COMPREPLY=( $(compgen -f -- \"$cur\") ); compopt -o filenames 2>/dev/null; return; fi\n")
		}
		b.WriteString("        ;;\n")
	}
	b.WriteString(`    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
    fi
}
complete -F _gown gown
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshQuote escapes a description for _arguments' brackets inside single
// quotes.
func zshQuote(s string) string {
	return strings.NewReplacer("'", "'\\''", "[", "\\[", "]", "\\]").Replace(s)
}

func writeZsh(w io.Writer, spec []compCmd) error {
	var b strings.Builder
	b.WriteString("#compdef gown\n# zsh completion for gown: gown completion zsh > \"${fpath[1]}/_gown\"\n")
	b.WriteString("# Made by gown completion zsh from gown's own command and flag definitions.\n\n")
	for _, c := range spec {
		fmt.Fprintf(&b, "_gown_%s() {\n    _arguments -s \\\n", funcName(c.doc.name))
		for _, f := range c.flags {
			action := ""
			if f.takesValue {
				switch {
				case len(f.values) > 0:
					action = ":" + f.long + ":(" + strings.Join(f.values, " ") + ")"
				case f.file:
					action = ":file:_files"
				case f.dir:
					action = ":directory:_files -/"
				default:
					action = ":" + f.long + ": "
				}
			}
			desc := zshQuote(f.usage)
			if f.short != "" {
				fmt.Fprintf(&b, "        '(-%s --%s)'{-%s,--%s}'[%s]%s' \\\n", f.short, f.long, f.short, f.long, desc, action)
			} else {
				fmt.Fprintf(&b, "        '--%s[%s]%s' \\\n", f.long, desc, action)
			}
		}
		switch {
		case c.doc.words != nil:
			fmt.Fprintf(&b, "        '1:%s:(%s)' \\\n", c.doc.name, strings.Join(c.doc.words, " "))
		case c.doc.complete == operandFiles:
			b.WriteString("        '*:file:_files' \\\n")
		}
		b.WriteString("        && return 0\n}\n\n")
	}
	groups := groupWords()
	b.WriteString("_gown() {\n    local -a commands\n    commands=(\n")
	for _, n := range commandNames() {
		short := "commands: " + strings.Join(groups[n], ", ")
		if d := docOf(n); d != nil {
			short = d.short
		}
		fmt.Fprintf(&b, "        '%s:%s'\n", n, zshQuote(short))
	}
	b.WriteString("    )\n    if (( CURRENT == 2 )); then\n        _describe -t commands 'gown command' commands\n        return\n    fi\n")
	b.WriteString("    local cmd=$words[2]\n    case \"$words[2]\" in\n")
	for _, g := range sortedKeys(groups) {
		fmt.Fprintf(&b, "    %s)\n        if (( CURRENT == 3 )) && [[ $PREFIX != -* ]]; then\n            local -a subs\n            subs=(%s)\n            _describe -t commands 'gown %s command' subs\n", g, strings.Join(groups[g], " "), g)
		if docOf(g) == nil {
			b.WriteString("            return\n")
		}
		fmt.Fprintf(&b, "        fi\n        case \"$words[3]\" in\n        %s) cmd=\"%s_$words[3]\"; shift words; (( CURRENT-- )) ;;\n        esac\n        ;;\n", strings.Join(groups[g], "|"), g)
	}
	b.WriteString("    esac\n    shift words\n    (( CURRENT-- ))\n    (( $+functions[_gown_$cmd] )) && _gown_$cmd\n}\n\n_gown \"$@\"\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// fishQuote quotes s for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(s) + "'"
}

func writeFish(w io.Writer, spec []compCmd) error {
	var b strings.Builder
	groups := groupWords()
	b.WriteString("# fish completion for gown: gown completion fish > ~/.config/fish/completions/gown.fish\n")
	b.WriteString("# Made by gown completion fish from gown's own command and flag definitions.\n\n")
	b.WriteString("function __gown_cmd\n    set -l w (commandline -opc)\n    set -e w[1]\n    if test (count $w) -ge 2\n")
	var twos []string
	for _, d := range commandDocs {
		if strings.Contains(d.name, " ") {
			twos = append(twos, fishQuote(d.name))
		}
	}
	fmt.Fprintf(&b, "        if contains -- \"$w[1] $w[2]\" %s\n            echo \"$w[1] $w[2]\"\n            return\n        end\n    end\n", strings.Join(twos, " "))
	b.WriteString("    if test (count $w) -ge 1\n        echo $w[1]\n    end\nend\n\n")
	b.WriteString("function __gown_is\n    set -l c (__gown_cmd)\n    test \"$c\" = \"$argv[1]\"\nend\n\n")
	b.WriteString("complete -c gown -f\n")
	for _, n := range commandNames() {
		short := "commands: " + strings.Join(groups[n], ", ")
		if d := docOf(n); d != nil {
			short = d.short
		}
		fmt.Fprintf(&b, "complete -c gown -n 'test (count (commandline -opc)) -eq 1' -a %s -d %s\n", n, fishQuote(short))
	}
	for _, g := range sortedKeys(groups) {
		fmt.Fprintf(&b, "complete -c gown -n '__gown_is %s' -a %s\n", g, fishQuote(strings.Join(groups[g], " ")))
	}
	for _, c := range spec {
		cond := fmt.Sprintf("-n %s", fishQuote("__gown_is "+fishQuote(c.doc.name)))
		for _, f := range c.flags {
			fmt.Fprintf(&b, "complete -c gown %s -l %s", cond, f.long)
			if f.short != "" {
				fmt.Fprintf(&b, " -s %s", f.short)
			}
			switch {
			case !f.takesValue:
			case len(f.values) > 0:
				fmt.Fprintf(&b, " -x -a %s", fishQuote(strings.Join(f.values, " ")))
			case f.file || f.dir:
				b.WriteString(" -r -F")
			default:
				b.WriteString(" -x")
			}
			fmt.Fprintf(&b, " -d %s\n", fishQuote(f.usage))
		}
		if c.doc.words != nil {
			fmt.Fprintf(&b, "complete -c gown %s -a %s\n", cond, fishQuote(strings.Join(c.doc.words, " ")))
		}
		if c.doc.complete == operandFiles {
			fmt.Fprintf(&b, "complete -c gown %s -F\n", cond)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
