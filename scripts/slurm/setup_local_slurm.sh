#!/usr/bin/env bash
# Installs and starts a single-node Slurm (slurmctld + slurmd + munge) on localhost for the
# sweep tests (rust-stack.md §12.4). Idempotent: a running cluster is left as it is.
# Fails soft: it always exits 0 and says what is missing; the tests then say visibly that
# the Slurm test was skipped. Needs root (CI runs as root); no systemd needed.
set -u

say() { echo "setup_local_slurm: $*"; }

if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
    say "Slurm is already up: $(sinfo -h 2>/dev/null | head -1)"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    say "not root, cannot install or start Slurm (skipped)"
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    say "installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }; then
        say "apt-get could not install Slurm (skipped)"
        exit 0
    fi
fi

# munge: the key is made by the package; make one if an earlier install lost it.
if [ ! -s /etc/munge/munge.key ]; then
    (command -v mungekey >/dev/null && mungekey --create --force) || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged || say "munged did not start"
    sleep 1
fi

CPUS=$(nproc 2>/dev/null || echo 2)
MEM=2000
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm /run/slurm 2>/dev/null || true
cat > /etc/slurm/slurm.conf <<CONF
# Written by dassl-rs scripts/slurm/setup_local_slurm.sh: one node, localhost, fake GPUs.
ClusterName=local
SlurmctldHost=localhost
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
MinJobAge=300
NodeName=localhost CPUs=${CPUS} RealMemory=${MEM} Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
cat > /etc/slurm/gres.conf <<CONF
NodeName=localhost Name=gpu File=/dev/null
NodeName=localhost Name=gpu File=/dev/zero
CONF

pgrep -x slurmctld >/dev/null || slurmctld || say "slurmctld did not start"
sleep 1
pgrep -x slurmd >/dev/null || slurmd -N localhost || say "slurmd did not start"
for _ in $(seq 1 20); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE 'idle|mixed|alloc'; then
        say "Slurm is up: $(sinfo -h | head -1)"
        exit 0
    fi
    scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
    sleep 1
done
say "Slurm did not come up (see /var/log/slurm/); the Slurm tests will be skipped"
exit 0
