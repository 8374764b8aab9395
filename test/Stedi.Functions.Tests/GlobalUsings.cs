global using Xunit;
global using Stedi.Twin;
global using Stedi.Twin.Emulation;
global using Stedi.Lakehouse.Schema;
