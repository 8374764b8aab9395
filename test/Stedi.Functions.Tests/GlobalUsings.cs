global using Xunit;
global using Stedi.Cli;
global using Stedi.Cli.Emulation;
global using Stedi.Lakehouse.Schema;
