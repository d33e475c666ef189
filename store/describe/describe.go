package describe

import (
	"strconv"
	"strings"
)

// Describe returns a short description of event eventID in channel, or ""
// when the table has none. Where an ID is provider-specific, the most
// common provider's meaning is given; DescribeEvent is more precise.
func Describe(channel string, eventID uint32) string {
	return DescribeEvent(channel, "", eventID)
}

// DescribeEvent is Describe with the event's provider name, which settles
// the meaning of IDs that several providers share in one channel (System 1
// is a time change from Kernel-General but a wake from sleep from
// Power-Troubleshooter). provider may be "".
func DescribeEvent(channel, provider string, eventID uint32) string {
	if d := byProvider(strings.ToLower(provider), eventID); d != "" {
		return d
	}
	d, known := byChannel(strings.ToLower(channel), eventID)
	if d != "" || known {
		return d
	}
	if (eventID >= 1100 && eventID <= 1108) || (eventID >= 4608 && eventID <= 6424) {
		return security(eventID)
	}
	return ""
}

// byChannel looks eventID up in channel's table; known reports whether
// the table has the channel at all.
func byChannel(channel string, id uint32) (d string, known bool) {
	switch channel {
	case "security":
		return security(id), true
	case "system":
		return system(id), true
	case "application":
		return application(id), true
	case "microsoft-windows-sysmon/operational":
		return sysmon(id), true
	case "microsoft-windows-powershell/operational", "powershellcore/operational":
		return powershell(id), true
	case "windows powershell":
		return powershellClassic(id), true
	case "microsoft-windows-taskscheduler/operational":
		return taskScheduler(id), true
	case "microsoft-windows-wmi-activity/operational":
		return wmiActivity(id), true
	case "microsoft-windows-windows defender/operational":
		return defender(id), true
	case "microsoft-windows-bits-client/operational":
		return bits(id), true
	case "microsoft-windows-winrm/operational":
		return winRM(id), true
	case "microsoft-windows-terminalservices-localsessionmanager/operational":
		return rdpLocalSession(id), true
	case "microsoft-windows-terminalservices-remoteconnectionmanager/operational":
		return rdpRemoteConnection(id), true
	case "microsoft-windows-remotedesktopservices-rdpcorets/operational":
		return rdpCoreTS(id), true
	case "microsoft-windows-grouppolicy/operational":
		return groupPolicy(id), true
	case "microsoft-windows-shell-core/operational":
		return shellCore(id), true
	case "microsoft-windows-applocker/exe and dll", "microsoft-windows-applocker/msi and script",
		"microsoft-windows-applocker/packaged app-execution", "microsoft-windows-applocker/packaged app-deployment":
		return appLocker(id), true
	case "microsoft-windows-windows firewall with advanced security/firewall":
		return firewall(id), true
	case "microsoft-windows-winsock-ws2help/operational":
		if id == 1 {
			return "A Winsock LSP or catalog entry was installed", true
		}
		return "", true
	case "microsoft-windows-application-experience/program-telemetry":
		if id == 500 {
			return "A compatibility fix (shim) was applied to a program", true
		}
		return "", true
	}
	return "", false
}

// byProvider holds the IDs whose meaning depends on the provider rather
// than the channel.
func byProvider(provider string, id uint32) string {
	switch {
	case provider == "":
		return ""
	case provider == "microsoft-windows-security-auditing":
		return security(id)
	case provider == "microsoft-windows-sysmon":
		return sysmon(id)
	case provider == "service control manager":
		return system(id)
	case strings.HasPrefix(provider, "mssql"):
		return msSQL(id)
	}
	switch provider + "/" + strconv.FormatUint(uint64(id), 10) {
	case "microsoft-windows-power-troubleshooter/1":
		return "The system has resumed from sleep"
	case "microsoft-windows-kernel-general/1":
		return "The system time was changed"
	case "microsoft-windows-kernel-general/12":
		return "The operating system started"
	case "microsoft-windows-kernel-general/13":
		return "The operating system is shutting down"
	case "microsoft-windows-kernel-general/15":
		return "A registry hive was reorganized"
	case "microsoft-windows-kernel-general/16":
		return "The access history of a registry hive was cleared"
	case "microsoft-windows-kernel-boot/18":
		return "Number of boot options on the system"
	case "microsoft-windows-kernel-boot/20":
		return "Status of the last shutdown and boot"
	case "microsoft-windows-kernel-boot/25":
		return "Boot menu policy"
	case "microsoft-windows-kernel-boot/27":
		return "Boot type and load options"
	case "microsoft-windows-kernel-boot/30":
		return "Firmware boot timing"
	case "microsoft-windows-kernel-boot/32":
		return "Time the boot manager waited for user input"
	case "microsoft-windows-kernel-boot/153":
		return "Virtualization-based security status at boot"
	case "microsoft-windows-winlogon/7001":
		return "User logon notification for Customer Experience Improvement Program"
	case "microsoft-windows-winlogon/7002":
		return "User logoff notification for Customer Experience Improvement Program"
	case "disk/51":
		return "An error was detected on a device during a paging operation"
	case "disk/153":
		return "An I/O operation to a disk was retried"
	case "microsoft-windows-ntfs/55":
		return "A corruption was discovered in the file system structure"
	case "microsoft-windows-ntfs/98":
		return "Volume health check (NTFS)"
	case "microsoft-windows-kernel-processor-power/55":
		return "Processor power management capabilities"
	case "microsoft-windows-windowsupdateclient/19":
		return "Windows Update installed an update"
	case "microsoft-windows-windowsupdateclient/20":
		return "Windows Update failed to install an update"
	case "microsoft-windows-windowsupdateclient/43":
		return "Windows Update started installing an update"
	case "microsoft-windows-windowsupdateclient/44":
		return "Windows Update started downloading an update"
	case "microsoft-windows-eventlog/104":
		return "An event log was cleared"
	case "microsoft-windows-eventlog/1102":
		return "The audit log was cleared"
	case "msiinstaller/1033":
		return "Windows Installer installed a product"
	case "msiinstaller/1034":
		return "Windows Installer removed a product"
	case "msiinstaller/1040":
		return "Windows Installer transaction started"
	case "msiinstaller/1042":
		return "Windows Installer transaction ended"
	case "msiinstaller/11707":
		return "Windows Installer: installation completed successfully"
	case "msiinstaller/11708":
		return "Windows Installer: installation failed"
	case "msiinstaller/11724":
		return "Windows Installer: product removal completed successfully"
	case "esent/216":
		return "ESENT detected a database location change (possible NTDS.dit copy)"
	case "esent/325":
		return "ESENT created a new database"
	case "esent/326":
		return "ESENT attached a database"
	case "esent/327":
		return "ESENT detached a database"
	case "application error/1000":
		return "An application crashed (Application Error)"
	case "windows error reporting/1001":
		return "Windows Error Reporting fault bucket"
	case "application hang/1002":
		return "An application stopped responding (Application Hang)"
	case ".net runtime/1026":
		return ".NET runtime: unhandled exception terminated a process"
	case "microsoft-windows-user profiles service/1530":
		return "A registry file is still in use by other applications at logoff"
	case "microsoft-windows-user profiles service/1531":
		return "The User Profile Service started"
	case "microsoft-windows-user profiles service/1532":
		return "The User Profile Service stopped"
	case "microsoft-windows-winlogon/6000":
		return "A Winlogon notification subscriber was unavailable"
	}
	return ""
}

func msSQL(id uint32) string {
	switch id {
	case 15457:
		return "SQL Server configuration option changed"
	case 17135:
		return "SQL Server is starting"
	case 17148:
		return "SQL Server is terminating"
	case 18453, 18454:
		return "SQL Server login succeeded"
	case 18456:
		return "SQL Server login failed"
	case 33205:
		return "SQL Server audit event"
	}
	return ""
}

func security(id uint32) string {
	switch id {
	case 1100:
		return "The event logging service has shut down"
	case 1101:
		return "Audit events have been dropped by the transport"
	case 1102:
		return "The audit log was cleared"
	case 1104:
		return "The security log is now full"
	case 1105:
		return "Event log automatic backup"
	case 1108:
		return "The event logging service encountered an error"
	case 4608:
		return "Windows is starting up"
	case 4609:
		return "Windows is shutting down"
	case 4610:
		return "An authentication package has been loaded by the Local Security Authority"
	case 4611:
		return "A trusted logon process has been registered with the Local Security Authority"
	case 4612:
		return "Internal resources allocated for the queuing of audit messages have been exhausted"
	case 4614:
		return "A notification package has been loaded by the Security Account Manager"
	case 4615:
		return "Invalid use of LPC port"
	case 4616:
		return "The system time was changed"
	case 4618:
		return "A monitored security event pattern has occurred"
	case 4621:
		return "Administrator recovered system from CrashOnAuditFail"
	case 4622:
		return "A security package has been loaded by the Local Security Authority"
	case 4624:
		return "An account was successfully logged on"
	case 4625:
		return "An account failed to log on"
	case 4626:
		return "User/Device claims information"
	case 4627:
		return "Group membership information"
	case 4634:
		return "An account was logged off"
	case 4647:
		return "User initiated logoff"
	case 4648:
		return "A logon was attempted using explicit credentials"
	case 4649:
		return "A replay attack was detected"
	case 4656:
		return "A handle to an object was requested"
	case 4657:
		return "A registry value was modified"
	case 4658:
		return "The handle to an object was closed"
	case 4659:
		return "A handle to an object was requested with intent to delete"
	case 4660:
		return "An object was deleted"
	case 4661:
		return "A handle to an object was requested (SAM or directory object)"
	case 4662:
		return "An operation was performed on an object"
	case 4663:
		return "An attempt was made to access an object"
	case 4664:
		return "An attempt was made to create a hard link"
	case 4670:
		return "Permissions on an object were changed"
	case 4671:
		return "An application attempted to access a blocked ordinal through the TBS"
	case 4672:
		return "Special privileges assigned to new logon"
	case 4673:
		return "A privileged service was called"
	case 4674:
		return "An operation was attempted on a privileged object"
	case 4675:
		return "SIDs were filtered"
	case 4688:
		return "A new process has been created"
	case 4689:
		return "A process has exited"
	case 4690:
		return "An attempt was made to duplicate a handle to an object"
	case 4691:
		return "Indirect access to an object was requested"
	case 4692:
		return "Backup of data protection master key was attempted"
	case 4693:
		return "Recovery of data protection master key was attempted"
	case 4694:
		return "Protection of auditable protected data was attempted"
	case 4695:
		return "Unprotection of auditable protected data was attempted"
	case 4696:
		return "A primary token was assigned to process"
	case 4697:
		return "A service was installed in the system"
	case 4698:
		return "A scheduled task was created"
	case 4699:
		return "A scheduled task was deleted"
	case 4700:
		return "A scheduled task was enabled"
	case 4701:
		return "A scheduled task was disabled"
	case 4702:
		return "A scheduled task was updated"
	case 4703:
		return "A user right was adjusted"
	case 4704:
		return "A user right was assigned"
	case 4705:
		return "A user right was removed"
	case 4706:
		return "A new trust was created to a domain"
	case 4707:
		return "A trust to a domain was removed"
	case 4709:
		return "IPsec Services was started"
	case 4710:
		return "IPsec Services was disabled"
	case 4713:
		return "Kerberos policy was changed"
	case 4714:
		return "Encrypted data recovery policy was changed"
	case 4715:
		return "The audit policy (SACL) on an object was changed"
	case 4716:
		return "Trusted domain information was modified"
	case 4717:
		return "System security access was granted to an account"
	case 4718:
		return "System security access was removed from an account"
	case 4719:
		return "System audit policy was changed"
	case 4720:
		return "A user account was created"
	case 4722:
		return "A user account was enabled"
	case 4723:
		return "An attempt was made to change an account's password"
	case 4724:
		return "An attempt was made to reset an account's password"
	case 4725:
		return "A user account was disabled"
	case 4726:
		return "A user account was deleted"
	case 4727:
		return "A security-enabled global group was created"
	case 4728:
		return "A member was added to a security-enabled global group"
	case 4729:
		return "A member was removed from a security-enabled global group"
	case 4730:
		return "A security-enabled global group was deleted"
	case 4731:
		return "A security-enabled local group was created"
	case 4732:
		return "A member was added to a security-enabled local group"
	case 4733:
		return "A member was removed from a security-enabled local group"
	case 4734:
		return "A security-enabled local group was deleted"
	case 4735:
		return "A security-enabled local group was changed"
	case 4737:
		return "A security-enabled global group was changed"
	case 4738:
		return "A user account was changed"
	case 4739:
		return "Domain Policy was changed"
	case 4740:
		return "A user account was locked out"
	case 4741:
		return "A computer account was created"
	case 4742:
		return "A computer account was changed"
	case 4743:
		return "A computer account was deleted"
	case 4744:
		return "A security-disabled local group was created"
	case 4745:
		return "A security-disabled local group was changed"
	case 4746:
		return "A member was added to a security-disabled local group"
	case 4747:
		return "A member was removed from a security-disabled local group"
	case 4748:
		return "A security-disabled local group was deleted"
	case 4749:
		return "A security-disabled global group was created"
	case 4750:
		return "A security-disabled global group was changed"
	case 4751:
		return "A member was added to a security-disabled global group"
	case 4752:
		return "A member was removed from a security-disabled global group"
	case 4753:
		return "A security-disabled global group was deleted"
	case 4754:
		return "A security-enabled universal group was created"
	case 4755:
		return "A security-enabled universal group was changed"
	case 4756:
		return "A member was added to a security-enabled universal group"
	case 4757:
		return "A member was removed from a security-enabled universal group"
	case 4758:
		return "A security-enabled universal group was deleted"
	case 4759:
		return "A security-disabled universal group was created"
	case 4760:
		return "A security-disabled universal group was changed"
	case 4761:
		return "A member was added to a security-disabled universal group"
	case 4762:
		return "A member was removed from a security-disabled universal group"
	case 4763:
		return "A security-disabled universal group was deleted"
	case 4764:
		return "A group's type was changed"
	case 4765:
		return "SID History was added to an account"
	case 4766:
		return "An attempt to add SID History to an account failed"
	case 4767:
		return "A user account was unlocked"
	case 4768:
		return "A Kerberos authentication ticket (TGT) was requested"
	case 4769:
		return "A Kerberos service ticket was requested"
	case 4770:
		return "A Kerberos service ticket was renewed"
	case 4771:
		return "Kerberos pre-authentication failed"
	case 4772:
		return "A Kerberos authentication ticket request failed"
	case 4773:
		return "A Kerberos service ticket request failed"
	case 4774:
		return "An account was mapped for logon"
	case 4775:
		return "An account could not be mapped for logon"
	case 4776:
		return "The computer attempted to validate the credentials for an account (NTLM)"
	case 4777:
		return "The domain controller failed to validate the credentials for an account"
	case 4778:
		return "A session was reconnected to a Window Station"
	case 4779:
		return "A session was disconnected from a Window Station"
	case 4780:
		return "The ACL was set on accounts which are members of administrators groups"
	case 4781:
		return "The name of an account was changed"
	case 4782:
		return "The password hash of an account was accessed"
	case 4783:
		return "A basic application group was created"
	case 4793:
		return "The Password Policy Checking API was called"
	case 4794:
		return "An attempt was made to set the Directory Services Restore Mode administrator password"
	case 4797:
		return "An attempt was made to query the existence of a blank password for an account"
	case 4798:
		return "A user's local group membership was enumerated"
	case 4799:
		return "A security-enabled local group membership was enumerated"
	case 4800:
		return "The workstation was locked"
	case 4801:
		return "The workstation was unlocked"
	case 4802:
		return "The screen saver was invoked"
	case 4803:
		return "The screen saver was dismissed"
	case 4816:
		return "RPC detected an integrity violation while decrypting an incoming message"
	case 4817:
		return "Auditing settings on object were changed"
	case 4820:
		return "A Kerberos TGT was denied because the device does not meet the access control restrictions"
	case 4821:
		return "A Kerberos service ticket was denied because the user or device does not meet the access control restrictions"
	case 4822:
		return "NTLM authentication failed because the account was a member of the Protected Users group"
	case 4823:
		return "NTLM authentication failed because access control restrictions are required"
	case 4824:
		return "Kerberos pre-authentication with DES or RC4 failed because the account was a member of the Protected Users group"
	case 4825:
		return "A user was denied access to Remote Desktop"
	case 4826:
		return "Boot Configuration Data loaded"
	case 4830:
		return "SID History was removed from an account"
	case 4864:
		return "A namespace collision was detected"
	case 4865:
		return "A trusted forest information entry was added"
	case 4866:
		return "A trusted forest information entry was removed"
	case 4867:
		return "A trusted forest information entry was modified"
	case 4886:
		return "Certificate Services received a certificate request"
	case 4887:
		return "Certificate Services approved a certificate request and issued a certificate"
	case 4888:
		return "Certificate Services denied a certificate request"
	case 4890:
		return "The certificate manager settings for Certificate Services changed"
	case 4898:
		return "Certificate Services loaded a template"
	case 4899:
		return "A Certificate Services template was updated"
	case 4900:
		return "Certificate Services template security was updated"
	case 4902:
		return "The Per-user audit policy table was created"
	case 4904:
		return "An attempt was made to register a security event source"
	case 4905:
		return "An attempt was made to unregister a security event source"
	case 4906:
		return "The CrashOnAuditFail value has changed"
	case 4907:
		return "Auditing settings on object were changed"
	case 4908:
		return "Special Groups Logon table modified"
	case 4909:
		return "The local policy settings for the TBS were changed"
	case 4910:
		return "The group policy settings for the TBS were changed"
	case 4911:
		return "Resource attributes of the object were changed"
	case 4912:
		return "Per User Audit Policy was changed"
	case 4913:
		return "Central Access Policy on the object was changed"
	case 4928:
		return "An Active Directory replica source naming context was established"
	case 4929:
		return "An Active Directory replica source naming context was removed"
	case 4930:
		return "An Active Directory replica source naming context was modified"
	case 4931:
		return "An Active Directory replica destination naming context was modified"
	case 4932:
		return "Synchronization of a replica of an Active Directory naming context has begun"
	case 4933:
		return "Synchronization of a replica of an Active Directory naming context has ended"
	case 4934:
		return "Attributes of an Active Directory object were replicated"
	case 4935:
		return "Replication failure begins"
	case 4936:
		return "Replication failure ends"
	case 4937:
		return "A lingering object was removed from a replica"
	case 4944:
		return "A policy was active when the Windows Firewall started"
	case 4945:
		return "A rule was listed when the Windows Firewall started"
	case 4946:
		return "A rule was added to the Windows Firewall exception list"
	case 4947:
		return "A rule was modified in the Windows Firewall exception list"
	case 4948:
		return "A rule was deleted from the Windows Firewall exception list"
	case 4949:
		return "Windows Firewall settings were restored to the default values"
	case 4950:
		return "A Windows Firewall setting has changed"
	case 4951:
		return "A Windows Firewall rule was ignored because its major version number was not recognized"
	case 4952:
		return "Parts of a Windows Firewall rule were ignored because its minor version number was not recognized"
	case 4953:
		return "A Windows Firewall rule was ignored because it could not be parsed"
	case 4954:
		return "Windows Firewall Group Policy settings have changed and were applied"
	case 4956:
		return "Windows Firewall has changed the active profile"
	case 4957:
		return "Windows Firewall did not apply a rule"
	case 4958:
		return "Windows Firewall did not apply a rule because it referred to items not configured on this computer"
	case 4964:
		return "Special groups have been assigned to a new logon"
	case 4985:
		return "The state of a transaction has changed"
	case 5024:
		return "The Windows Firewall Service has started successfully"
	case 5025:
		return "The Windows Firewall Service has been stopped"
	case 5027:
		return "The Windows Firewall Service was unable to retrieve the security policy from the local storage"
	case 5028:
		return "The Windows Firewall Service was unable to parse the new security policy"
	case 5029:
		return "The Windows Firewall Service failed to initialize the driver"
	case 5030:
		return "The Windows Firewall Service failed to start"
	case 5031:
		return "The Windows Firewall Service blocked an application from accepting incoming connections"
	case 5032:
		return "Windows Firewall was unable to notify the user that it blocked an application from accepting incoming connections"
	case 5033:
		return "The Windows Firewall Driver has started successfully"
	case 5034:
		return "The Windows Firewall Driver was stopped"
	case 5035:
		return "The Windows Firewall Driver failed to start"
	case 5037:
		return "The Windows Firewall Driver detected a critical runtime error and is terminating"
	case 5038:
		return "Code integrity determined that the image hash of a file is not valid"
	case 5039:
		return "A registry key was virtualized"
	case 5051:
		return "A file was virtualized"
	case 5056:
		return "A cryptographic self test was performed"
	case 5057:
		return "A cryptographic primitive operation failed"
	case 5058:
		return "Key file operation"
	case 5059:
		return "Key migration operation"
	case 5060:
		return "Verification operation failed"
	case 5061:
		return "Cryptographic operation"
	case 5062:
		return "A kernel-mode cryptographic self test was performed"
	case 5136:
		return "A directory service object was modified"
	case 5137:
		return "A directory service object was created"
	case 5138:
		return "A directory service object was undeleted"
	case 5139:
		return "A directory service object was moved"
	case 5140:
		return "A network share object was accessed"
	case 5141:
		return "A directory service object was deleted"
	case 5142:
		return "A network share object was added"
	case 5143:
		return "A network share object was modified"
	case 5144:
		return "A network share object was deleted"
	case 5145:
		return "A network share object was checked to see whether client can be granted desired access"
	case 5148:
		return "The Windows Filtering Platform has detected a DoS attack and entered a defensive mode"
	case 5149:
		return "The DoS attack has subsided and normal processing is being resumed"
	case 5150, 5152:
		return "The Windows Filtering Platform blocked a packet"
	case 5151, 5153:
		return "A more restrictive Windows Filtering Platform filter has blocked a packet"
	case 5154:
		return "The Windows Filtering Platform has permitted an application or service to listen on a port"
	case 5155:
		return "The Windows Filtering Platform has blocked an application or service from listening on a port"
	case 5156:
		return "The Windows Filtering Platform has permitted a connection"
	case 5157:
		return "The Windows Filtering Platform has blocked a connection"
	case 5158:
		return "The Windows Filtering Platform has permitted a bind to a local port"
	case 5159:
		return "The Windows Filtering Platform has blocked a bind to a local port"
	case 5168:
		return "SPN check for SMB/SMB2 failed"
	case 5376:
		return "Credential Manager credentials were backed up"
	case 5377:
		return "Credential Manager credentials were restored from a backup"
	case 5378:
		return "The requested credentials delegation was disallowed by policy"
	case 5379:
		return "Credential Manager credentials were read"
	case 5380:
		return "Vault Find Credential"
	case 5381, 5382:
		return "Vault credentials were read"
	case 5440:
		return "A Windows Filtering Platform callout was present when the Base Filtering Engine started"
	case 5441:
		return "A Windows Filtering Platform filter was present when the Base Filtering Engine started"
	case 5442:
		return "A Windows Filtering Platform provider was present when the Base Filtering Engine started"
	case 5443:
		return "A Windows Filtering Platform provider context was present when the Base Filtering Engine started"
	case 5444:
		return "A Windows Filtering Platform sub-layer was present when the Base Filtering Engine started"
	case 5446:
		return "A Windows Filtering Platform callout has been changed"
	case 5447:
		return "A Windows Filtering Platform filter has been changed"
	case 5448:
		return "A Windows Filtering Platform provider has been changed"
	case 5449:
		return "A Windows Filtering Platform provider context has been changed"
	case 5450:
		return "A Windows Filtering Platform sub-layer has been changed"
	case 5451:
		return "An IPsec Quick Mode security association was established"
	case 5452:
		return "An IPsec Quick Mode security association ended"
	case 5478:
		return "IPsec Services has started successfully"
	case 5479:
		return "IPsec Services has been shut down successfully"
	case 5632:
		return "A request was made to authenticate to a wireless network"
	case 5633:
		return "A request was made to authenticate to a wired network"
	case 5712:
		return "A Remote Procedure Call (RPC) was attempted"
	case 5888:
		return "An object in the COM+ Catalog was modified"
	case 5889:
		return "An object was deleted from the COM+ Catalog"
	case 5890:
		return "An object was added to the COM+ Catalog"
	case 6144:
		return "Security policy in the group policy objects has been applied successfully"
	case 6145:
		return "One or more errors occurred while processing security policy in the group policy objects"
	case 6272:
		return "Network Policy Server granted access to a user"
	case 6273:
		return "Network Policy Server denied access to a user"
	case 6274:
		return "Network Policy Server discarded the request for a user"
	case 6275:
		return "Network Policy Server discarded the accounting request for a user"
	case 6276:
		return "Network Policy Server quarantined a user"
	case 6277:
		return "Network Policy Server granted access to a user but put it on probation"
	case 6278:
		return "Network Policy Server granted full access to a user because the host met the health policy"
	case 6279:
		return "Network Policy Server locked the user account due to repeated failed authentication attempts"
	case 6280:
		return "Network Policy Server unlocked the user account"
	case 6281:
		return "Code Integrity determined that the page hashes of an image file are not valid"
	case 6410:
		return "Code integrity determined that a file does not meet the security requirements to load into a process"
	case 6416:
		return "A new external device was recognized by the system"
	case 6419:
		return "A request was made to disable a device"
	case 6420:
		return "A device was disabled"
	case 6421:
		return "A request was made to enable a device"
	case 6422:
		return "A device was enabled"
	case 6423:
		return "The installation of this device is forbidden by system policy"
	case 6424:
		return "The installation of this device was allowed, after having previously been forbidden by policy"
	}
	return ""
}

// system gives the System channel's IDs their most common provider's
// meaning (see byProvider for the others).
func system(id uint32) string {
	switch id {
	case 1:
		return "The system time was changed"
	case 6:
		return "A file system filter driver was loaded"
	case 12:
		return "The operating system started"
	case 13:
		return "The operating system is shutting down"
	case 14:
		return "Credential Guard (LsaIso) configuration at startup"
	case 15:
		return "A registry hive was reorganized"
	case 16:
		return "The access history of a registry hive was cleared"
	case 18:
		return "Number of boot options on the system"
	case 19:
		return "Windows Update installed an update"
	case 20:
		return "Windows Update failed to install an update"
	case 25:
		return "Boot menu policy"
	case 26:
		return "Application popup message"
	case 27:
		return "Boot type and load options"
	case 30:
		return "Firmware boot timing"
	case 32:
		return "Time the boot manager waited for user input"
	case 33:
		return "The oldest volume shadow copy was deleted to stay under the storage limit"
	case 35:
		return "The time service is now synchronizing the system time with a time source"
	case 37:
		return "The time provider is now receiving valid time data"
	case 41:
		return "The system rebooted without cleanly shutting down first"
	case 42:
		return "The system is entering sleep"
	case 43:
		return "Windows Update started installing an update"
	case 44:
		return "Windows Update started downloading an update"
	case 51:
		return "An error was detected on a device during a paging operation"
	case 52:
		return "The time service detected a large time offset"
	case 55:
		return "Processor power management capabilities"
	case 98:
		return "Volume health check (NTFS)"
	case 104:
		return "An event log was cleared"
	case 107:
		return "The system has resumed from sleep"
	case 109:
		return "The kernel power manager has initiated a shutdown transition"
	case 134:
		return "The time service could not resolve a time source (DNS error)"
	case 153:
		return "Virtualization-based security status at boot"
	case 172:
		return "Connectivity state in standby changed"
	case 219:
		return "A driver failed to load for a device"
	case 1014:
		return "DNS name resolution timed out"
	case 1056:
		return "A new self-signed certificate was generated for Remote Desktop"
	case 1074:
		return "A process initiated a shutdown or restart"
	case 1076:
		return "The reason for an unexpected shutdown was recorded"
	case 1500:
		return "Group Policy for the computer was processed successfully (no changes)"
	case 1501:
		return "Group Policy for the user was processed successfully (no changes)"
	case 1502:
		return "Group Policy for the computer was processed successfully"
	case 1503:
		return "Group Policy for the user was processed successfully"
	case 2505:
		return "The server service could not bind to the transport"
	case 4321:
		return "A NetBIOS name could not be registered on an interface"
	case 5719:
		return "The computer could not set up a secure session with a domain controller"
	case 5805:
		return "A computer's session setup to Netlogon failed to authenticate"
	case 5827:
		return "Netlogon denied a vulnerable secure channel connection from a machine account"
	case 5828:
		return "Netlogon denied a vulnerable secure channel connection using a trust account"
	case 5829:
		return "Netlogon allowed a vulnerable secure channel connection"
	case 6005:
		return "The Event log service was started"
	case 6006:
		return "The Event log service was stopped"
	case 6008:
		return "The previous system shutdown was unexpected"
	case 6009:
		return "Operating system version at boot"
	case 6011:
		return "The NetBIOS and DNS host name of the computer changed"
	case 6013:
		return "System uptime"
	case 7000:
		return "A service failed to start"
	case 7001:
		return "A service depends on a service that failed to start"
	case 7002:
		return "A service depends on a group that failed to start"
	case 7009:
		return "A timeout was reached while waiting for a service to connect"
	case 7011:
		return "A service did not respond to a control request in time"
	case 7022:
		return "A service hung on starting"
	case 7023:
		return "A service terminated with an error"
	case 7024:
		return "A service terminated with a service-specific error"
	case 7026:
		return "Boot-start or system-start drivers failed to load"
	case 7030:
		return "A service is marked as interactive, which the system does not allow"
	case 7031:
		return "A service terminated unexpectedly (recovery action will be taken)"
	case 7032:
		return "The Service Control Manager tried a recovery action after a service failure"
	case 7034:
		return "A service terminated unexpectedly"
	case 7035:
		return "A service was sent a start or stop control"
	case 7036:
		return "A service entered the running or stopped state"
	case 7040:
		return "The start type of a service was changed"
	case 7045:
		return "A service was installed in the system"
	case 2005:
		return "New Windows Setup information (installation choice, host OS version)"
	case 3261:
		return "The computer joined a workgroup"
	case 6041:
		return "A CredSSP authentication failed to negotiate a common protocol version"
	case 10000:
		return "A user-mode (UMDF) driver package is being installed on a device"
	case 10001:
		return "A user-mode (UMDF) driver service was installed"
	case 10002:
		return "A user-mode (UMDF) driver service was upgraded"
	case 10100:
		return "A user-mode (UMDF) driver package installation succeeded"
	case 10101:
		return "A user-mode (UMDF) driver package installation failed"
	case 10317:
		return "A network adapter (NDIS miniport) reported an event"
	case 16403:
		return "The Security Accounts Manager could not create a well-known account"
	case 10005:
		return "DCOM got an error attempting to start a service"
	case 10010:
		return "A DCOM server did not register within the required timeout"
	case 10016:
		return "DCOM permission settings do not grant local launch or activation permission"
	case 15007:
		return "An HTTP URL reservation was added"
	case 16962:
		return "Remote calls to the SAM database are restricted by the default security descriptor"
	case 20001:
		return "Driver installation for a device finished"
	case 20003:
		return "A service was added for a device's driver"
	case 24576:
		return "A portable device (WPD) driver was installed"
	case 24577:
		return "Portable device (WPD) driver installation started"
	case 24579:
		return "Portable device (WPD) driver installation completed"
	case 50036:
		return "The DHCPv4 client service started"
	case 50037:
		return "The DHCPv4 client service stopped"
	case 51046:
		return "The DHCPv6 client service started"
	case 51047:
		return "The DHCPv6 client service stopped"
	}
	return ""
}

// application covers the Application IDs that nearly always come from one
// provider (MsiInstaller's 1033/1040 are left to byProvider: Software
// Protection logs the same IDs there).
func application(id uint32) string {
	switch id {
	case 1000:
		return "An application crashed (Application Error)"
	case 1001:
		return "Windows Error Reporting fault bucket"
	case 1002:
		return "An application stopped responding (Application Hang)"
	case 11707:
		return "Windows Installer: installation completed successfully"
	case 11708:
		return "Windows Installer: installation failed"
	case 11724:
		return "Windows Installer: product removal completed successfully"
	case 18454:
		return "SQL Server login succeeded"
	case 18456:
		return "SQL Server login failed"
	}
	return ""
}

func sysmon(id uint32) string {
	switch id {
	case 1:
		return "Process creation"
	case 2:
		return "A process changed a file creation time"
	case 3:
		return "Network connection"
	case 4:
		return "Sysmon service state changed"
	case 5:
		return "Process terminated"
	case 6:
		return "Driver loaded"
	case 7:
		return "Image loaded"
	case 8:
		return "CreateRemoteThread (possible code injection)"
	case 9:
		return "RawAccessRead (raw disk read)"
	case 10:
		return "Process access"
	case 11:
		return "File created"
	case 12:
		return "Registry object added or deleted"
	case 13:
		return "Registry value set"
	case 14:
		return "Registry object renamed"
	case 15:
		return "File stream created (alternate data stream hash)"
	case 16:
		return "Sysmon configuration changed"
	case 17:
		return "Named pipe created"
	case 18:
		return "Named pipe connected"
	case 19:
		return "WMI event filter activity detected"
	case 20:
		return "WMI event consumer activity detected"
	case 21:
		return "WMI event consumer-to-filter binding detected"
	case 22:
		return "DNS query"
	case 23:
		return "File deleted and archived"
	case 24:
		return "Clipboard changed"
	case 25:
		return "Process tampering (image change)"
	case 26:
		return "File deletion logged"
	case 27:
		return "Executable file creation blocked"
	case 28:
		return "File shredding blocked"
	case 29:
		return "Executable file detected"
	case 255:
		return "Sysmon error"
	}
	return ""
}

func powershell(id uint32) string {
	switch id {
	case 4100:
		return "PowerShell error (executing pipeline)"
	case 4103:
		return "PowerShell module logging (pipeline execution details)"
	case 4104:
		return "PowerShell script block logged"
	case 4105:
		return "PowerShell script block invocation started"
	case 4106:
		return "PowerShell script block invocation completed"
	case 8193:
		return "PowerShell runspace created"
	case 8194:
		return "PowerShell runspace pool created"
	case 8195:
		return "PowerShell runspace pool opened"
	case 8197:
		return "PowerShell runspace state changed"
	case 40961:
		return "PowerShell console is starting up"
	case 40962:
		return "PowerShell console is ready for user input"
	case 53504:
		return "PowerShell started an IPC listening thread (named pipe)"
	}
	return ""
}

func powershellClassic(id uint32) string {
	switch id {
	case 400:
		return "PowerShell engine started (state changed to Available)"
	case 403:
		return "PowerShell engine stopped"
	case 500:
		return "PowerShell command started"
	case 501:
		return "PowerShell command stopped"
	case 600:
		return "PowerShell provider started"
	case 800:
		return "PowerShell pipeline execution details"
	}
	return ""
}

func taskScheduler(id uint32) string {
	switch id {
	case 100:
		return "Scheduled task started"
	case 101:
		return "Scheduled task failed to start"
	case 102:
		return "Scheduled task completed"
	case 103:
		return "Scheduled task action failed to start"
	case 106:
		return "Scheduled task registered"
	case 107:
		return "Scheduled task triggered on schedule"
	case 108:
		return "Scheduled task triggered on event"
	case 110:
		return "Scheduled task triggered by user"
	case 111:
		return "Scheduled task terminated"
	case 118:
		return "Scheduled task triggered at system startup"
	case 119:
		return "Scheduled task triggered on logon"
	case 129:
		return "Scheduled task process created"
	case 140:
		return "Scheduled task registration updated"
	case 141:
		return "Scheduled task registration deleted"
	case 142:
		return "Scheduled task disabled"
	case 200:
		return "Scheduled task action started"
	case 201:
		return "Scheduled task action completed"
	case 202:
		return "Scheduled task action failed"
	case 203:
		return "Scheduled task action failed to start"
	case 301:
		return "Task Scheduler engine shut down"
	case 310:
		return "Task Scheduler engine started"
	case 311:
		return "Task Scheduler engine failed to start"
	case 319:
		return "Task Scheduler engine received a message to start a task"
	case 322:
		return "Scheduled task launch ignored: instance already running"
	case 325:
		return "Scheduled task launch request queued"
	case 329:
		return "Scheduled task stopping: timeout reached"
	case 330:
		return "Scheduled task stopping: user request"
	case 332:
		return "Scheduled task launch condition not met: user not logged on"
	}
	return ""
}

func wmiActivity(id uint32) string {
	switch id {
	case 5857:
		return "A WMI provider was started"
	case 5858:
		return "A WMI operation failed"
	case 5859:
		return "A WMI event query was registered (permanent event consumer)"
	case 5860:
		return "A temporary WMI event subscription was registered"
	case 5861:
		return "A permanent WMI event subscription (filter-to-consumer binding) was registered"
	}
	return ""
}

func defender(id uint32) string {
	switch id {
	case 1000:
		return "Malware scan started"
	case 1001:
		return "Malware scan completed"
	case 1002:
		return "Malware scan stopped before completion"
	case 1005:
		return "Malware scan failed"
	case 1006:
		return "Malware or unwanted software detected by a scan"
	case 1007:
		return "Action taken to protect the system from malware"
	case 1008:
		return "Action to protect the system from malware failed"
	case 1009:
		return "An item was restored from quarantine"
	case 1010:
		return "An item could not be restored from quarantine"
	case 1011:
		return "An item was deleted from quarantine"
	case 1012:
		return "An item could not be deleted from quarantine"
	case 1013:
		return "Malware history was deleted"
	case 1015:
		return "Suspicious behavior detected"
	case 1116:
		return "Malware or unwanted software detected"
	case 1117:
		return "Action taken to protect the system from malware or unwanted software"
	case 1118:
		return "Action against malware failed (non-critical)"
	case 1119:
		return "Action against malware failed (critical)"
	case 1120:
		return "Hash of a detected threat"
	case 1121:
		return "An Attack Surface Reduction rule blocked an operation"
	case 1122:
		return "An Attack Surface Reduction rule audited an operation"
	case 1123:
		return "Controlled folder access blocked an untrusted process"
	case 1124:
		return "Controlled folder access audited an untrusted process"
	case 1125:
		return "Network protection audited a connection"
	case 1126:
		return "Network protection blocked a connection"
	case 2000:
		return "Antimalware definitions updated"
	case 2001:
		return "Antimalware definition update failed"
	case 2002:
		return "Antimalware engine updated"
	case 2003:
		return "Antimalware engine update failed"
	case 2004:
		return "Reverted to the last known good antimalware definitions"
	case 2010:
		return "Dynamic (cloud) signatures were used"
	case 3002:
		return "Real-time protection encountered an error"
	case 5000:
		return "Real-time protection enabled"
	case 5001:
		return "Real-time protection disabled"
	case 5004:
		return "Real-time protection configuration changed"
	case 5007:
		return "Antimalware platform configuration changed"
	case 5008:
		return "Antimalware engine terminated unexpectedly"
	case 5010:
		return "Scanning for malware and unwanted software disabled"
	case 5012:
		return "Scanning for viruses disabled"
	case 5013:
		return "Tamper protection blocked a change"
	}
	return ""
}

func bits(id uint32) string {
	switch id {
	case 3:
		return "A BITS job was created"
	case 4:
		return "A BITS transfer job completed"
	case 5:
		return "A BITS job was cancelled"
	case 59:
		return "BITS started a transfer"
	case 60:
		return "BITS stopped a transfer"
	case 61:
		return "BITS stopped a transfer with an error"
	}
	return ""
}

func winRM(id uint32) string {
	switch id {
	case 6:
		return "Creating a WSMan session"
	case 91:
		return "Creating a WSMan shell on the server"
	case 142:
		return "A WSMan operation failed"
	case 168:
		return "WinRM is authenticating a user"
	case 169:
		return "WinRM authenticated a user"
	}
	return ""
}

func rdpLocalSession(id uint32) string {
	switch id {
	case 21:
		return "Remote Desktop session logon succeeded"
	case 22:
		return "Remote Desktop shell start notification received"
	case 23:
		return "Remote Desktop session logoff succeeded"
	case 24:
		return "Remote Desktop session disconnected"
	case 25:
		return "Remote Desktop session reconnection succeeded"
	case 39:
		return "A session was disconnected by another session"
	case 40:
		return "A session was disconnected (reason code given)"
	case 41:
		return "Begin session arbitration"
	case 42:
		return "End session arbitration"
	}
	return ""
}

func rdpRemoteConnection(id uint32) string {
	switch id {
	case 258:
		return "The Remote Desktop listener started listening"
	case 261:
		return "The Remote Desktop listener received a connection"
	case 1149:
		return "Remote Desktop user authentication succeeded"
	}
	return ""
}

func rdpCoreTS(id uint32) string {
	switch id {
	case 65:
		return "A new RDP connection was created"
	case 66:
		return "An RDP connection was assigned to a session"
	case 98:
		return "A TCP connection has been successfully established"
	case 102:
		return "The server terminated the main RDP connection with the client"
	case 103:
		return "RDP disconnect reason"
	case 104:
		return "The RDP client reported its time zone"
	case 131:
		return "The server accepted a new TCP connection from a client"
	case 140:
		return "An RDP connection failed because the user name or password is not correct"
	case 141:
		return "RDP performance counter session started"
	case 142:
		return "RDP TCP socket read operation failed"
	case 143:
		return "RDP TCP socket write operation failed"
	case 148:
		return "An RDP channel was closed"
	case 168:
		return "The RDP client reported its monitor layout"
	case 226:
		return "RDP connection state transition"
	}
	return ""
}

func groupPolicy(id uint32) string {
	switch id {
	case 4000:
		return "Starting computer boot policy processing"
	case 4001:
		return "Starting user logon policy processing"
	case 4016:
		return "Starting Group Policy extension processing"
	case 5016:
		return "Completed Group Policy extension processing"
	case 7016:
		return "Group Policy extension processing failed"
	case 8000:
		return "Completed computer boot policy processing"
	case 8001:
		return "Completed user logon policy processing"
	}
	return ""
}

func shellCore(id uint32) string {
	switch id {
	case 9705:
		return "Started enumerating Run/RunOnce keys"
	case 9706:
		return "Finished enumerating Run/RunOnce keys"
	case 9707:
		return "Started executing a Run/RunOnce command"
	case 9708:
		return "Finished executing a Run/RunOnce command"
	}
	return ""
}

func appLocker(id uint32) string {
	switch id {
	case 8002:
		return "AppLocker allowed an executable or DLL"
	case 8003:
		return "AppLocker would have blocked an executable or DLL (audit)"
	case 8004:
		return "AppLocker blocked an executable or DLL"
	case 8005:
		return "AppLocker allowed an MSI or script"
	case 8006:
		return "AppLocker would have blocked an MSI or script (audit)"
	case 8007:
		return "AppLocker blocked an MSI or script"
	}
	return ""
}

func firewall(id uint32) string {
	switch id {
	case 2003:
		return "A Windows Firewall profile setting was changed"
	case 2004:
		return "A rule was added to the Windows Firewall exception list"
	case 2005:
		return "A rule was modified in the Windows Firewall exception list"
	case 2006:
		return "A rule was deleted from the Windows Firewall exception list"
	case 2033:
		return "All rules were deleted from the Windows Firewall exception list"
	}
	return ""
}
