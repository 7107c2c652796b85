// Command startup times whole processes: it runs each command given to it
// -runs times, interleaved (one run of every command per round, the order
// rotating from round to round so that no command always follows another),
// and prints each command's median and minimum wall time and its ratios to
// the first command's. bench/startup.sh builds the programs and calls it.
//
// Each run is one fork/exec and wait timed with the monotonic clock, with
// stdin and stdout on /dev/null; stderr is kept, and a run that exits
// non-zero stops the benchmark, so a broken command is never timed as fast.
//
// Usage:
//
//	startup [-runs 200] [-warmup 10] [-target name=ratio]... name=path[,arg...] ...
//
// Each -target names a command and the most its median may be, as a ratio
// to the first command's median; a verdict line is printed for each.
//
// Arguments of a command are separated by commas: "get=/tmp/palyra,secrets,get,global,a,--reveal".
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

type command struct {
	name  string
	argv  []string
	times []time.Duration
}

// targets are the -target flags: command name and the ratio not to exceed.
type targets map[string]float64

func (t targets) String() string { return fmt.Sprint(map[string]float64(t)) }

func (t targets) Set(s string) error {
	name, r, ok := strings.Cut(s, "=")
	v, err := strconv.ParseFloat(r, 64)
	if !ok || err != nil || v <= 0 {
		return fmt.Errorf("%q: want name=ratio", s)
	}
	t[name] = v
	return nil
}

func main() {
	runs := flag.Int("runs", 200, "timed runs of each command")
	warmup := flag.Int("warmup", 10, "untimed runs of each command first")
	tg := targets{}
	flag.Var(tg, "target", "name=ratio: the most the command's median may be, as a ratio to the first command's (repeatable)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: startup [-runs N] [-warmup N] name=path[,arg...] ...")
		os.Exit(2)
	}
	var cmds []*command
	for _, a := range flag.Args() {
		name, spec, ok := strings.Cut(a, "=")
		if !ok || name == "" || spec == "" {
			fmt.Fprintf(os.Stderr, "startup: %q: want name=path[,arg...]\n", a)
			os.Exit(2)
		}
		cmds = append(cmds, &command{name: name, argv: strings.Split(spec, ",")})
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "startup: %v\n", err)
		os.Exit(1)
	}
	for round := range *warmup + *runs {
		for i := range cmds {
			c := cmds[(i+round)%len(cmds)]
			d, err := runOnce(c.argv, devnull)
			if err != nil {
				fmt.Fprintf(os.Stderr, "startup: %s: %v\n", c.name, err)
				os.Exit(1)
			}
			if round >= *warmup {
				c.times = append(c.times, d)
			}
		}
	}
	report(cmds, tg)
}

// runOnce starts argv with stdin and stdout on devnull and waits for it.
// The clock covers fork, exec, the whole run and the reaping of the child.
func runOnce(argv []string, devnull *os.File) (time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, os.Stderr
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), err
}

func report(cmds []*command, tg targets) {
	base := cmds[0]
	baseMed, baseMin := median(base.times), slices.Min(base.times)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "command\tmedian\tmin\tmedian/"+base.name+"\tmin/"+base.name+"\truns\t")
	for _, c := range cmds {
		med, lo := median(c.times), slices.Min(c.times)
		fmt.Fprintf(w, "%s\t%s\t%s\t%.2fx\t%.2fx\t%d\t\n", c.name, ms(med), ms(lo),
			float64(med)/float64(baseMed), float64(lo)/float64(baseMin), len(c.times))
	}
	_ = w.Flush()
	for _, c := range cmds {
		limit, ok := tg[c.name]
		if !ok {
			continue
		}
		r := float64(median(c.times)) / float64(baseMed)
		verdict := "met"
		if r > limit {
			verdict = "MISSED"
		}
		fmt.Printf("target %s <= %.2fx %s by the median: %.2fx, %s (by the minimum: %.2fx)\n", c.name, limit, base.name, r, verdict,
			float64(slices.Min(c.times))/float64(baseMin))
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
